// Provider adapter for hostform:Cgroup (protocol v1): Pulumi's check/diff/create/read/update/delete
// over src/cgroup's driver. The id is the cgroup's full name under hostform's parent ("pod/web-1a2b").
import type * as pulumi from "@pulumi/pulumi";
import { openCgroupDriver, type CgroupDriver, type CgroupPaths } from "../../../src/cgroup/driver";
import { cgroupSegments } from "../../../src/cgroup/tree";
import { LIMIT_GROUPS, diffLimits, withLiftedLimits, type CgroupLimits, type NormalizedLimits } from "../../../src/cgroup/spec";
import { mustOwn } from "../../../src/sys/owner";
import { chooseName, mustDeleteBeforeReplace, type NamedInputs } from "./autoname";
import { collectFailures } from "./checkFailures";
import { isImportRead, ownerOf, warnTakeover } from "./ownership";
import { sameValue } from "./sameValue";
import { containsUnknown } from "./unknownValue";

/** Inputs as the Cgroup resource sends them (after check: name chosen). */
export interface CgroupInputs extends NamedInputs, CgroupLimits {
  /** Full name of the parent Cgroup, when nested. */
  parentName?: string;
}

/** Outputs: the inputs plus what the host says. */
export interface CgroupOutputs extends CgroupInputs {
  fullName: string;
  version: "v1" | "v2" | "hybrid";
  path: string;
  paths: CgroupPaths;
  /** Live values of the declared limits, in the kernel's terms (bytes in pages, quota/period). */
  limits: NormalizedLimits;
  /** Hierarchies the cgroup was removed from out of band (v1, hybrid); [] when whole. */
  missingHierarchies: string[];
}

let cached: CgroupDriver | undefined;
function driver(): CgroupDriver {
  cached ??= openCgroupDriver();
  return cached;
}

function fullName(inputs: CgroupInputs): string {
  return inputs.parentName ? `${inputs.parentName}/${inputs.name}` : inputs.name!;
}

/** The limit groups of the inputs, without the naming fields. */
export function limitsOf(inputs: CgroupInputs): CgroupLimits {
  const out: Record<string, unknown> = {};
  for (const g of LIMIT_GROUPS) if (inputs[g] !== undefined && inputs[g] !== null) out[g] = inputs[g];
  return out as CgroupLimits;
}

/** Live values of exactly the declared fields; a declared limit the kernel does not report is null. */
export function projectLive(want: NormalizedLimits, live: NormalizedLimits): NormalizedLimits {
  const out: Record<string, Record<string, unknown>> = {};
  for (const g of LIMIT_GROUPS) {
    const w = want[g] as Record<string, unknown> | undefined;
    if (w === undefined) continue;
    const l = (live[g] ?? {}) as Record<string, unknown>;
    out[g] = {};
    for (const k of Object.keys(w)) if (w[k] !== undefined) out[g][k] = l[k] ?? null;
  }
  return out as NormalizedLimits;
}

function primaryPath(paths: CgroupPaths): string {
  return paths.v2 ?? Object.values(paths.v1)[0] ?? "";
}

function outputs(inputs: CgroupInputs): CgroupOutputs {
  const d = driver();
  const name = fullName(inputs);
  const paths = d.paths(name);
  const limits = projectLive(d.normalize(limitsOf(inputs)), d.read(name));
  return { ...inputs, fullName: name, version: d.layout.mode, path: primaryPath(paths), paths, limits, missingHierarchies: d.missingHierarchies(name) };
}

/**
 * The inputs an import finds on the host: the name and parent the id gives, and of each declared
 * limit group the declared value when the live cgroup has it, else the live value, so that Diff
 * against the declaration names exactly the groups that differ.
 */
function importedInputs(id: string, declared: CgroupInputs): CgroupInputs {
  const d = driver();
  const slash = id.lastIndexOf("/");
  const out: CgroupInputs = { name: id.slice(slash + 1), autonamed: false };
  if (declared.resourceName !== undefined) out.resourceName = declared.resourceName;
  if (slash > 0) out.parentName = id.slice(0, slash);
  const live = d.read(id);
  for (const g of LIMIT_GROUPS) {
    const want = declared[g];
    if (want === undefined || want === null) continue;
    // Check has validated the declared limits before the engine reads.
    const matches = diffLimits(d.normalize({ [g]: want } as CgroupLimits), live).length === 0;
    (out as Record<string, unknown>)[g] = matches ? want : (live[g] ?? null);
  }
  return out;
}

/** The v1 Cgroup provider. */
export const provider: pulumi.dynamic.ResourceProvider<CgroupInputs, CgroupOutputs> = {
  async check(olds, news) {
    const inputs = chooseName(olds, news);
    const failures = collectFailures([
      () => void cgroupSegments(inputs.name!, "name"),
      () => void (inputs.parentName !== undefined && !containsUnknown(inputs.parentName) && cgroupSegments(inputs.parentName, "parent")),
      () => void (!containsUnknown(limitsOf(inputs)) && driver().normalize(limitsOf(inputs))),
    ]);
    return { inputs, failures };
  },

  async diff(id, olds, news) {
    const replaces = ["name", "parentName"].filter((k) => !sameValue(olds[k as keyof CgroupInputs], news[k as keyof CgroupInputs]));
    if (replaces.length > 0) {
      return { changes: true, replaces, deleteBeforeReplace: !containsUnknown(news.parentName) && mustDeleteBeforeReplace(olds.fullName, fullName(news)) };
    }
    const declared = LIMIT_GROUPS.filter((g) => !sameValue(olds[g], news[g]));
    if (declared.length > 0) return { changes: true };
    // Same declaration: the host decides. A rewritten limit or a deleted cgroup is repaired by update.
    const d = driver();
    if (!d.exists(id) || d.missingHierarchies(id).length > 0) return { changes: true };
    return { changes: diffLimits(d.normalize(limitsOf(news)), d.read(id)).length > 0 };
  },

  async create(inputs) {
    const name = fullName(inputs);
    const d = driver();
    const owner = ownerOf(inputs);
    // Idempotent only for its own owner (an interrupted earlier create of this very resource);
    // anything else of that name is refused, never adopted.
    if (d.exists(name)) mustOwn("cgroup", name, d.owner(name), owner);
    d.create(name, limitsOf(inputs));
    if (owner !== undefined) d.setOwner(name, owner);
    return { id: name, outs: outputs(inputs) };
  },

  async read(id, props) {
    const d = driver();
    if (props === undefined || !d.exists(id)) return { id: "", props: {} as CgroupOutputs };
    if (isImportRead(props, "fullName")) return { id, props: outputs(importedInputs(id, props)) };
    return { id, props: outputs(props) };
  },

  async update(id, olds, news) {
    // create() makes a deleted cgroup again and writes every given limit; lifted values undo
    // limits the program no longer declares.
    const d = driver();
    d.create(id, withLiftedLimits(limitsOf(olds), limitsOf(news)));
    // An import takes the cgroup over here (its first update).
    const owner = ownerOf(news);
    if (owner !== undefined) {
      warnTakeover("cgroup", id, d.owner(id), owner);
      d.setOwner(id, owner);
    }
    return { outs: outputs(news) };
  },

  async delete(id) {
    await driver().delete(id);
  },
};

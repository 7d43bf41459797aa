// The Cgroup resource: a hostform cgroup with version-neutral limits, optionally nested in another.
import * as pulumi from "@pulumi/pulumi";
import type { CgroupPaths } from "../src/cgroup/driver";
import type { CgroupLimits, NormalizedLimits } from "../src/cgroup/spec";
import { OWNER_KEY, ownerInput } from "./owner";
import { stableProvider } from "./stableProvider";

const provider = stableProvider("cgroup");

/**
 * One optional input per limit group (memory, cpu, cpuset, pids, io: see each group's declared type in
 * src/cgroup/v2/<group>.ts), so a new controller needs no line here.
 */
export type CgroupLimitArgs = { [G in keyof CgroupLimits]?: pulumi.Input<NonNullable<CgroupLimits[G]>> };

/** The declared limits, one output per group. */
export type CgroupLimitOutputs = { readonly [G in keyof CgroupLimits]-?: pulumi.Output<CgroupLimits[G] | undefined> };

/** Arguments of a Cgroup. Every limit is optional; an undeclared limit is left as the kernel has it. */
export interface CgroupArgs extends CgroupLimitArgs {
  /** Pinned cgroup name (one level, e.g. "web"). Default: the resource name plus a random suffix.
   *  A pinned name makes replacements delete the old cgroup first. */
  name?: pulumi.Input<string>;
  /** The Cgroup this one is nested in; its full name becomes this one's prefix ("pod/web"). */
  parent?: Cgroup;
}

/** The declared limit groups are outputs too (interface merged into the class below). */
export interface Cgroup extends CgroupLimitOutputs {}

/**
 * A cgroup under hostform's parent in every hierarchy the host mounts (cgroup v2, v1 or hybrid).
 * Limit changes are written in place; a new name or parent replaces it. `refresh`/`drift` read the
 * live limit files, so a limit rewritten behind hostform's back shows as drift and the next `up`
 * writes the declared value again.
 */
export class Cgroup extends pulumi.dynamic.Resource {
  /** The cgroup's own name (one level). */
  declare readonly name: pulumi.Output<string>;
  /** Full name under hostform's parent, e.g. "pod/web-1a2b3c4d"; the resource id. */
  declare readonly fullName: pulumi.Output<string>;
  /** Layout of the host: "v2", "v1" or "hybrid". */
  declare readonly version: pulumi.Output<"v1" | "v2" | "hybrid">;
  /** Primary directory: the cgroup2 one when the host mounts cgroup2, else the first v1 one. */
  declare readonly path: pulumi.Output<string>;
  /** Directory in the cgroup2 hierarchy (v2) and in each v1 controller hierarchy (v1). */
  declare readonly paths: pulumi.Output<CgroupPaths>;
  /** Live values of the declared limits, in the kernel's terms (bytes rounded to pages, quota/period). */
  declare readonly limits: pulumi.Output<NormalizedLimits>;
  /** Hierarchies the cgroup was removed from out of band (v1 and hybrid hosts); [] when whole. */
  declare readonly missingHierarchies: pulumi.Output<string[]>;

  constructor(name: string, args: CgroupArgs = {}, opts?: pulumi.CustomResourceOptions) {
    const { parent, ...limits } = args;
    super(
      provider,
      name,
      {
        ...limits,
        resourceName: name,
        [OWNER_KEY]: ownerInput("Cgroup", name),
        parentName: parent?.fullName,
        autonamed: undefined,
        fullName: undefined,
        version: undefined,
        path: undefined,
        paths: undefined,
        limits: undefined,
        missingHierarchies: undefined,
      },
      opts,
      "hostform",
      "Cgroup",
    );
  }
}

// Provider adapter for hostform:Namespace (protocol v1): a pinned namespace set from src/ns. The id
// is the set's name. A namespace cannot be changed or repaired in place (a lost one cannot be
// entered again), so every difference is a replacement. Equal inodes do not make the same set:
// nsfs hands a freed namespace's inode number to the next one made, so a set deleted and made again
// out of band can show the old numbers while containers still hold the old namespaces (or none);
// the set's identity is its creation time and its holder's pid and start time.
import type * as pulumi from "@pulumi/pulumi";
import { createNamespaces, deleteNamespaces, inspectNamespaces, setNamespaceOwner, validateNamespaceTypes, validateSetName, type NamespaceSetInfo, type NamespaceType } from "../../../src/ns";
import { mustOwn, sameOwner } from "../../../src/sys/owner";
import { NotFoundError } from "../../../src/sys/errors";
import { chooseName, mustDeleteBeforeReplace, type NamedInputs } from "./autoname";
import { collectFailures } from "./checkFailures";
import { isImportRead, ownerOf, warnTakeover } from "./ownership";
import { sameValue } from "./sameValue";
import { containsUnknown } from "./unknownValue";
import { aliasesOf, attachedNetworksOf, declaredPorts, hasNames, hasNetworks, validateNetwork, type NetworkAttachmentInput } from "./networkDeclaration";
import { isDamaged, networkDamage, observeNetwork, repairNetwork, updateNames, type NetworkInterfaceLive } from "./networkLive";
import { attachPodNetwork, detachPodNetwork } from "./networkSetup";
import type { PublishedPort } from "../../../src/net/portSpec";
import { afterUndo, ValidationError } from "../../../src/sys/errors";
import { validateIdMappings, type IdMapping } from "../../../src/ns/idMapping";
import { nextAutoMappings } from "../../../src/runtime/autoUserns";

/** A set's user namespace: "auto" (a block of hostform's range) or explicit mappings. */
export type NamespaceUserns = "auto" | { uidMappings: IdMapping[]; gidMappings: IdMapping[] };

/** Inputs as the Namespace resource sends them (after check: name chosen, types canonical). */
export interface NamespaceInputs extends NamedInputs {
  types: NamespaceType[];
  /** With "user" in types (default "auto"): whose ids the set's user namespace maps. */
  userns?: NamespaceUserns;
  /** Networks the set's network namespace is attached to (a pod's), with ports, names and DNS as a Container's. */
  networkAttachments?: NetworkAttachmentInput[];
  ports?: Array<string | PublishedPort>;
  dns?: string[];
  extraHosts?: string[];
}

/** Outputs: the inputs plus the live set. */
export interface NamespaceOutputs extends NamespaceInputs {
  path: string;
  paths: Partial<Record<NamespaceType, string>>;
  inodes: Partial<Record<NamespaceType, number>>;
  /** PID of the set's PID-namespace holder; 0 when the set has no pid namespace. */
  holderPid: number;
  /** Start time (clock ticks after boot, /proc/<pid>/stat field 22) of that holder; 0 without one. */
  holderStartTime: number;
  /** When the set was made (ISO 8601, from its metadata); "" when the metadata is lost. */
  createdAt: string;
  /**
   * Which set this is: creation time plus holder pid and start time. It changes whenever the set
   * is made again, even when nsfs reuses the inode numbers; what dependents key a replacement on.
   */
  identity: string;
  /** True when every type is pinned and the holder (if any) lives. */
  intact: boolean;
  /** With a user namespace: its mappings (for "auto", the block it got); null without one. */
  idMappings: { uid: IdMapping[]; gid: IdMapping[] } | null;
  /** Live, per network: the pod's interface, address, MAC and CHECK result. */
  networkInterfaces: Record<string, NetworkInterfaceLive>;
  /** Live: the published ports whose rules are in place. */
  publishedPorts: string[];
}


/** The identity of a live set (see NamespaceOutputs.identity). */
function setIdentity(info: NamespaceSetInfo): string {
  const holder = info.holder !== undefined ? ` holder ${info.holder.pid}@${info.holder.startTime}` : "";
  return `${info.createdAt ?? ""}${holder}`;
}

/**
 * True when the live set is the one recorded in `olds`. State written before identity was recorded
 * has only inodes to go by.
 */
function isSameSet(live: NamespaceSetInfo, olds: NamespaceOutputs): boolean {
  if (!sameValue(live.inodes, olds.inodes)) return false;
  return typeof olds.identity !== "string" || olds.identity === setIdentity(live);
}

async function outputs(inputs: NamespaceInputs, info: NamespaceSetInfo): Promise<NamespaceOutputs> {
  const network = (await observeNetwork(inputs)) ?? { networkInterfaces: {}, publishedPorts: [] };
  return {
    networkInterfaces: network.networkInterfaces,
    publishedPorts: network.publishedPorts,
    ...inputs,
    path: info.dir,
    paths: info.paths,
    inodes: info.inodes,
    holderPid: info.holder?.alive === true ? info.holder.pid : 0,
    holderStartTime: info.holder?.alive === true ? info.holder.startTime : 0,
    createdAt: info.createdAt ?? "",
    identity: setIdentity(info),
    intact: info.intact,
    idMappings: info.idMappings ?? null,
  };
}

/** The set's userns, checked: "auto" by default with "user" in types, refused without. */
function checkUserns(types: readonly string[], userns: unknown): NamespaceUserns | undefined {
  if (!types.includes("user")) {
    if (userns !== undefined && userns !== null) throw new ValidationError("userns", "needs a user namespace in the set", 'add "user" to types, or remove userns');
    return undefined;
  }
  if (userns === undefined || userns === null || userns === "auto") return "auto";
  if (typeof userns !== "object" || Array.isArray(userns)) throw new ValidationError("userns", `${JSON.stringify(userns)} is not "auto" or {uidMappings, gidMappings}`);
  const u = userns as Record<string, unknown>;
  return { uidMappings: validateIdMappings(u.uidMappings, "userns.uidMappings"), gidMappings: validateIdMappings(u.gidMappings, "userns.gidMappings") };
}

/** The mappings a set is made with: explicit ones, or the next "auto" block. */
function setIdMappings(userns: NamespaceUserns | undefined): { idMappings?: { uid: IdMapping[]; gid: IdMapping[] } } {
  if (userns === undefined) return {};
  if (userns === "auto") {
    const block = nextAutoMappings();
    return { idMappings: { uid: block, gid: block.map((m) => ({ ...m })) } };
  }
  return { idMappings: { uid: userns.uidMappings, gid: userns.gidMappings } };
}

/** The v1 Namespace provider. */
export const provider: pulumi.dynamic.ResourceProvider<NamespaceInputs, NamespaceOutputs> = {
  async check(olds, news) {
    const inputs = chooseName(olds, news);
    const failures = collectFailures([
      () => void validateSetName(inputs.name, "name"),
      () => {
        if (!containsUnknown(inputs.types)) inputs.types = validateNamespaceTypes(inputs.types, "types");
      },
      () => {
        if (containsUnknown(inputs.types) || containsUnknown(inputs.userns)) return;
        inputs.userns = checkUserns(inputs.types, inputs.userns);
        if (inputs.userns === undefined) delete inputs.userns;
      },
      () => {
        if (containsUnknown(inputs)) return;
        const netDeclared = hasNetworks(inputs) || declaredPorts(inputs).length > 0;
        if (netDeclared && !inputs.types.includes("net")) throw new ValidationError("networks", "are attached to the set's network namespace, and its types have no net", 'add "net" to types');
        if (!hasNetworks(inputs) && hasNames(inputs)) throw new ValidationError(inputs.dns !== undefined && inputs.dns !== null ? "dns" : "extraHosts", "are written for the set's networks, and it has none", "add networks, or set dns and extraHosts on each Container instead");
        if (netDeclared) validateNetwork(inputs);
      },
    ]);
    return { inputs, failures };
  },

  async diff(id, olds, news) {
    const replaces = ["name", "types", "ports", "userns"].filter((k) => !sameValue(olds[k as keyof NamespaceInputs], news[k as keyof NamespaceInputs]));
    if (!sameValue(attachedNetworksOf(olds), attachedNetworksOf(news))) replaces.push("networks");
    // Same declaration: a set that lost a pin or its holder, or is not the set created (made
    // again out of band), must be made again.
    if (replaces.length === 0) {
      const live = inspectNamespaces(id);
      if (live === undefined || !live.intact) replaces.push("inodes");
      else if (!isSameSet(live, olds)) replaces.push("identity");
    }
    if (replaces.length === 0) {
      // Names and DNS are rewritten in place; a lost interface or rule is put back by update.
      const renamed = ["dns", "extraHosts"].some((k) => !sameValue(olds[k as keyof NamespaceInputs], news[k as keyof NamespaceInputs])) || !sameValue(aliasesOf(olds), aliasesOf(news));
      const live = hasNetworks(news) ? await observeNetwork(news) : undefined;
      return { changes: renamed || (live !== undefined && isDamaged(await networkDamage(news, live))) };
    }
    return { changes: true, replaces, deleteBeforeReplace: mustDeleteBeforeReplace(olds.name, news.name) };
  },

  async create(inputs) {
    // Only a set this very resource owns is taken as it is (an interrupted earlier create: kept
    // when intact, else deleted and made again); any other set of that name is refused.
    const owner = ownerOf(inputs);
    const existing = inspectNamespaces(inputs.name!);
    if (existing !== undefined) mustOwn("namespace set", inputs.name!, existing.owner, owner);
    const info = await createNamespaces(inputs.name!, inputs.types, owner, setIdMappings(inputs.userns));
    try {
      if (info.paths.net !== undefined) await attachPodNetwork(inputs, info.paths.net);
    } catch (err) {
      throw await afterUndo(err, `deleting namespace set ${info.name}`, () => deleteNamespaces(info.name));
    }
    return { id: info.name, outs: await outputs(inputs, info) };
  },

  async read(id, props) {
    const info = inspectNamespaces(id);
    if (info === undefined || props === undefined) return { id: "", props: {} as NamespaceOutputs };
    // An import: the set's own name and types, so that Diff names what the declaration changes.
    if (isImportRead(props, "identity")) return { id, props: await outputs({ ...props, name: id, autonamed: false, types: info.types }, info) };
    // A set made again under the same name is another object: the one recorded is gone (refresh
    // would otherwise adopt the newcomer, and drift could not see the swap).
    if (info.createdAt !== undefined && typeof props.identity === "string" && props.identity !== setIdentity(info)) return { id: "", props: {} as NamespaceOutputs };
    return { id, props: await outputs(props, info) };
  },

  async update(id, _olds, news) {
    // Only reached when diff found nothing to replace (e.g. the resource name changed but the
    // pinned name did not): nothing to do on the host.
    const info = inspectNamespaces(id);
    if (info === undefined) throw new NotFoundError("namespace set", id, "run 'hostform refresh' then 'hostform up'");
    // An import takes the set over here (its first update).
    const owner = ownerOf(news);
    if (owner !== undefined && !sameOwner(info.owner, owner)) {
      warnTakeover("namespace set", id, info.owner, owner);
      setNamespaceOwner(id, owner);
    }
    if (hasNetworks(news)) {
      const damage = await networkDamage(news, (await observeNetwork(news))!);
      if (isDamaged(damage)) await repairNetwork(news, damage);
      updateNames(news);
    }
    return { outs: await outputs(news, info) };
  },

  async delete(id, props) {
    await detachPodNetwork({ ...props, name: id });
    await deleteNamespaces(id);
  },
};

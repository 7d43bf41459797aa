// Provider adapter for hostform:Namespace (protocol v1): a pinned namespace set from src/ns. The id
// is the set's name. A namespace cannot be changed or repaired in place (a lost one cannot be
// entered again), so every difference is a replacement.
import type * as pulumi from "@pulumi/pulumi";
import { createNamespaces, deleteNamespaces, inspectNamespaces, validateNamespaceTypes, validateSetName, type NamespaceSetInfo, type NamespaceType } from "../../../src/ns";
import { chooseName, mustDeleteBeforeReplace, type NamedInputs } from "./autoname";
import { collectFailures } from "./checkFailures";
import { sameValue } from "./sameValue";
import { containsUnknown } from "./unknownValue";

/** Inputs as the Namespace resource sends them (after check: name chosen, types canonical). */
export interface NamespaceInputs extends NamedInputs {
  types: NamespaceType[];
}

/** Outputs: the inputs plus the live set. */
export interface NamespaceOutputs extends NamespaceInputs {
  path: string;
  paths: Partial<Record<NamespaceType, string>>;
  inodes: Partial<Record<NamespaceType, number>>;
  /** PID of the set's PID-namespace holder; 0 when the set has no pid namespace. */
  holderPid: number;
  /** True when every type is pinned and the holder (if any) lives. */
  intact: boolean;
}

function outputs(inputs: NamespaceInputs, info: NamespaceSetInfo): NamespaceOutputs {
  return {
    ...inputs,
    path: info.dir,
    paths: info.paths,
    inodes: info.inodes,
    holderPid: info.holder?.alive === true ? info.holder.pid : 0,
    intact: info.intact,
  };
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
    ]);
    return { inputs, failures };
  },

  async diff(id, olds, news) {
    const replaces = ["name", "types"].filter((k) => !sameValue(olds[k as keyof NamespaceInputs], news[k as keyof NamespaceInputs]));
    // Same declaration: a set that lost a pin or its holder, or holds other namespaces than the
    // ones created, must be made again.
    if (replaces.length === 0) {
      const live = inspectNamespaces(id);
      if (live === undefined || !live.intact || !sameValue(live.inodes, olds.inodes)) replaces.push("inodes");
    }
    if (replaces.length === 0) return { changes: false };
    return { changes: true, replaces, deleteBeforeReplace: mustDeleteBeforeReplace(olds.name, news.name) };
  },

  async create(inputs) {
    // Adopts an intact set of the same name and types (an interrupted earlier create); a broken
    // one is deleted and made again.
    const info = await createNamespaces(inputs.name!, inputs.types);
    return { id: info.name, outs: outputs(inputs, info) };
  },

  async read(id, props) {
    const info = inspectNamespaces(id);
    if (info === undefined || props === undefined) return { id: "", props: {} as NamespaceOutputs };
    return { id, props: outputs(props, info) };
  },

  async update(id, _olds, news) {
    // Only reached when diff found nothing to replace (e.g. the resource name changed but the
    // pinned name did not): nothing to do on the host.
    const info = inspectNamespaces(id);
    if (info === undefined) throw new Error(`namespace set ${id} is gone; run 'hostform refresh' then 'hostform up'`);
    return { outs: outputs(news, info) };
  },

  async delete(id) {
    await deleteNamespaces(id);
  },
};

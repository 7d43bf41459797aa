// Provider adapter for hostform:BusyboxRootfs (protocol v1): a root filesystem built from the
// host's static busybox under <lib dir>/rootfs/<name>. The id is that directory.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { appletList, buildBusyboxRootfs, fileDigest, findBusybox, readMarker, removeRootfs, rootfsBaseDir, validateRootfsName } from "../../rootfs/busybox";
import { chooseName, mustDeleteBeforeReplace, type NamedInputs } from "./autoname";
import { collectFailures } from "./checkFailures";
import { sameValue } from "./sameValue";
import { containsUnknown } from "./unknownValue";

/** Inputs as the BusyboxRootfs resource sends them (after check: name chosen). */
export interface BusyboxRootfsInputs extends NamedInputs {
  /** Path of a static busybox; default /bin/busybox or /usr/bin/busybox. */
  busybox?: string;
  /** Applets to link in /bin; default every applet the binary has. */
  applets?: string[];
}

/** Outputs: the inputs plus the built directory. */
export interface BusyboxRootfsOutputs extends BusyboxRootfsInputs {
  path: string;
  /** sha256 of the busybox inside the rootfs (empty when it is missing). */
  busyboxDigest: string;
  /** Applets linked in /bin. */
  appletCount: number;
  /** True when the rootfs is as hostform built it (marker present, binary unchanged). */
  intact: boolean;
}

function dirOf(name: string): string {
  return join(rootfsBaseDir(), name);
}

function liveOutputs(inputs: BusyboxRootfsInputs, dir: string): BusyboxRootfsOutputs {
  const marker = readMarker(dir);
  const bin = join(dir, "bin", "busybox");
  const busyboxDigest = existsSync(bin) ? fileDigest(bin) : "";
  return { ...inputs, path: dir, busyboxDigest, appletCount: marker?.applets.length ?? 0, intact: marker !== undefined && marker.busyboxDigest === busyboxDigest };
}

function build(inputs: BusyboxRootfsInputs): BusyboxRootfsOutputs {
  const busybox = findBusybox(inputs.busybox ?? undefined);
  const dir = dirOf(inputs.name!);
  buildBusyboxRootfs(dir, busybox, appletList(busybox, inputs.applets ?? undefined));
  return liveOutputs(inputs, dir);
}

/** The v1 BusyboxRootfs provider. */
export const provider: pulumi.dynamic.ResourceProvider<BusyboxRootfsInputs, BusyboxRootfsOutputs> = {
  async check(olds, news) {
    const inputs = chooseName(olds, news);
    if (containsUnknown(inputs)) return { inputs };
    const failures = collectFailures([
      () => void validateRootfsName(inputs.name, "name"),
      () => void appletList(findBusybox(inputs.busybox ?? undefined, "busybox"), inputs.applets ?? undefined, "applets"),
    ]);
    return { inputs, failures };
  },

  async diff(id, olds, news) {
    const replaces = ["name", "busybox", "applets"].filter((k) => !sameValue(olds[k as keyof BusyboxRootfsInputs], news[k as keyof BusyboxRootfsInputs]));
    // Containers run from the directory: new content means new containers, so it is a replacement.
    if (replaces.length > 0) return { changes: true, replaces, deleteBeforeReplace: mustDeleteBeforeReplace(olds.name, news.name) };
    const live = existsSync(id) ? liveOutputs(news, id) : undefined;
    return { changes: live === undefined || !live.intact || live.busyboxDigest !== olds.busyboxDigest };
  },

  async create(inputs) {
    // An existing hostform rootfs of that name (an interrupted earlier create) is rebuilt in place;
    // a directory hostform did not build is refused.
    const outs = build(inputs);
    return { id: outs.path, outs };
  },

  async read(id, props) {
    if (props === undefined || !existsSync(id)) return { id: "", props: {} as BusyboxRootfsOutputs };
    return { id, props: liveOutputs(props, id) };
  },

  async update(_id, _olds, news) {
    // Same declaration, damaged or deleted content: build it again.
    return { outs: build(news) };
  },

  async delete(id) {
    removeRootfs(id);
  },
};

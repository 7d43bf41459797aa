// linux.rootfsPropagation: how the container's mount namespace stays connected to the host's. The
// default keeps it apart (rprivate); "rslave" lets the host's new mounts under the rootfs reach
// the container, "rshared" lets them flow both ways (runc's mapping, for storage plugins that
// mount from inside a container). pivot_root refuses a shared new root or parent, so the
// rootfs' parent mount is made private first, as runc does.
import { dirname } from "node:path";
import * as libc from "../../sys/libc";
import { MS_PRIVATE, MS_REC, MS_SHARED, MS_SLAVE, MS_UNBINDABLE } from "../../sys/constants";
import { readMountinfo } from "../../sys/mountinfo";

export const ROOTFS_PROPAGATIONS = {
  private: MS_PRIVATE,
  rprivate: MS_PRIVATE | MS_REC,
  slave: MS_SLAVE,
  rslave: MS_SLAVE | MS_REC,
  shared: MS_SHARED,
  rshared: MS_SHARED | MS_REC,
  unbindable: MS_UNBINDABLE,
  runbindable: MS_UNBINDABLE | MS_REC,
} as const;

export type RootfsPropagation = keyof typeof ROOTFS_PROPAGATIONS;

/** The mount(2) flags "/" gets in the new mount namespace. */
export function rootPropagationFlags(p: RootfsPropagation | undefined): number {
  return ROOTFS_PROPAGATIONS[p ?? "rprivate"];
}

/** Whether the spec keeps a propagation link with the host (then pivot_root needs the care below). */
export function keepsHostLink(p: RootfsPropagation | undefined): boolean {
  return p !== undefined && (ROOTFS_PROPAGATIONS[p] & (MS_SHARED | MS_SLAVE)) !== 0;
}

/** The mount point that holds `path` (the longest one that is a prefix of it). */
function mountPointOf(path: string): string {
  let best = "/";
  for (const m of readMountinfo()) {
    const mp = m.mountPoint;
    if ((path === mp || path.startsWith(mp === "/" ? "/" : `${mp}/`)) && mp.length > best.length) best = mp;
  }
  return best;
}

/** Makes the mount holding the rootfs' parent private if it is shared, as pivot_root requires. */
export function makeRootfsParentPrivate(rootfs: string): void {
  const mp = mountPointOf(dirname(rootfs));
  const shared = readMountinfo().some((m) => m.mountPoint === mp && m.optional.some((o) => o.startsWith("shared:")));
  if (shared) libc.mount(null, mp, null, MS_PRIVATE);
}

// Bind remounts (read-only roots and paths, a bind mount's own flags) that keep what the kernel
// locked. In a user namespace, the flags a mount had when it came from a more privileged mount
// namespace (nosuid, nodev, noexec, the atime ones) are locked: a remount that would clear one is
// EPERM. runc retries with the mount's current flags added, and so does this.
import * as libc from "../../sys/libc";
import { MS_BIND, MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID, MS_RELATIME, MS_REMOUNT } from "../../sys/constants";
import { SysError } from "../../sys/errors";
import { readMountinfo } from "../../sys/mountinfo";

const LOCKABLE: Record<string, number> = { nosuid: MS_NOSUID, nodev: MS_NODEV, noexec: MS_NOEXEC, noatime: MS_NOATIME, nodiratime: MS_NODIRATIME, relatime: MS_RELATIME };

/** The lockable flags of the topmost mount at path, from mountinfo's per-mount options. */
function currentFlags(path: string): number {
  const mount = readMountinfo().filter((m) => m.mountPoint === path).pop();
  let flags = 0;
  for (const o of mount?.options ?? []) flags |= LOCKABLE[o] ?? 0;
  return flags;
}

/** mount(MS_BIND | MS_REMOUNT | flags) on path, again with its locked flags kept if refused. */
export function remountBind(path: string, flags: number): void {
  try {
    libc.mount(null, path, null, MS_BIND | MS_REMOUNT | flags);
  } catch (err) {
    if (!(err instanceof SysError && err.code === "EPERM")) throw err;
    libc.mount(null, path, null, MS_BIND | MS_REMOUNT | flags | currentFlags(path));
  }
}

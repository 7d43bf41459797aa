// Resolving a container path on the host side, before pivot_root. A symlink inside the rootfs
// (e.g. /dev -> /host) must resolve against the rootfs, or a mount destination could escape it.
import { lstatSync, readlinkSync } from "node:fs";
import { join, posix } from "node:path";
import { hasCode } from "../sys/errors";
import { SysError } from "../sys/errors";

const MAX_SYMLINKS = 40;

/**
 * The host path of `inner` inside `root`, following symlinks as if `root` were `/`. Components
 * that do not exist yet are appended as written (the caller creates them).
 */
export function resolveInRoot(root: string, inner: string): string {
  let pending = posix.normalize(inner).split("/").filter((c) => c !== "" && c !== ".");
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const comp = pending.shift()!;
    if (comp === "..") {
      done.pop();
      continue;
    }
    const host = join(root, ...done, comp);
    let isLink = false;
    try {
      isLink = lstatSync(host).isSymbolicLink();
    } catch (err) {
      if (!hasCode(err, "ENOENT")) throw SysError.fromNode(err, "resolve in rootfs");
      return join(root, ...done, comp, ...pending);
    }
    if (!isLink) {
      done.push(comp);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new SysError("readlink", 40, host, "resolve in rootfs");
    const target = readlinkSync(host);
    const parts = target.split("/").filter((c) => c !== "" && c !== ".");
    if (target.startsWith("/")) done.length = 0;
    pending = [...parts, ...pending];
  }
  return join(root, ...done);
}

// Resolving a container path on the host side, before pivot_root. A symlink inside the rootfs
// (e.g. /dev -> /host) must resolve against the rootfs, or a mount destination could escape it.
import { lstatSync, readlinkSync } from "node:fs";
import { join, posix } from "node:path";
import { HostformError, SysError, hasCode, registerErrorClass } from "../sys/errors";

/** The kernel's limit on symlinks followed in one path walk (MAXSYMLINKS), kept here too. */
const MAX_SYMLINKS = 40;

/** A path in the rootfs whose symlinks do not end (a loop, or a longer chain than the kernel follows). */
export class SymlinkLoopError extends HostformError {
  constructor(
    readonly path: string,
    readonly root: string,
    readonly link: string,
  ) {
    super(`${path} in the rootfs ${root}: more than ${MAX_SYMLINKS} symbolic links to follow (a loop?) at ${link}`);
  }
}
registerErrorClass(SymlinkLoopError);

/**
 * The host path of `inner` inside `root`, following symlinks as if `root` were `/`. Components
 * that do not exist yet are appended as written (the caller creates them).
 */
export function resolveInRoot(root: string, inner: string): string {
  let pending = posix.normalize(inner).split("/").filter((c) => c !== "" && c !== ".");
  const done: string[] = [];
  let links = 0;
  for (let comp = pending.shift(); comp !== undefined; comp = pending.shift()) {
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
    if (++links > MAX_SYMLINKS) throw new SymlinkLoopError(inner, root, host);
    let target: string;
    try {
      target = readlinkSync(host);
    } catch (err) {
      throw SysError.fromNode(err, "resolve in rootfs");
    }
    const parts = target.split("/").filter((c) => c !== "" && c !== ".");
    if (target.startsWith("/")) done.length = 0;
    pending = [...parts, ...pending];
  }
  return join(root, ...done);
}

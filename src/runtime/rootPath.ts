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

/** An entry a root walk looked up: its host path, and whether it is a symlink (not followed). */
export interface RootEntry {
  host: string;
  symlink: boolean;
}

/** Where a walk ended: the resolved components, and, when one was not found, it and those after it. */
export interface RootWalk {
  parts: string[];
  missing?: string[];
}

/**
 * Follows `inner` through a root as the kernel walks a path with the root as "/": ".." stops at the
 * root, and symlinks resolve against it (absolute targets from its top). `find` looks one path up
 * without following it; `label` names the root in errors.
 */
export function walkInRoot(inner: string, label: string, find: (parts: readonly string[]) => RootEntry | undefined): RootWalk {
  let pending = posix.normalize(inner).split("/").filter((c) => c !== "" && c !== ".");
  const done: string[] = [];
  let links = 0;
  for (let comp = pending.shift(); comp !== undefined; comp = pending.shift()) {
    if (comp === "..") {
      done.pop();
      continue;
    }
    const hit = find([...done, comp]);
    if (hit === undefined) return { parts: done, missing: [comp, ...pending] };
    if (!hit.symlink) {
      done.push(comp);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new SymlinkLoopError(inner, label, hit.host);
    let target: string;
    try {
      target = readlinkSync(hit.host);
    } catch (err) {
      throw SysError.fromNode(err, "resolve in rootfs");
    }
    if (target.startsWith("/")) done.length = 0;
    pending = [...target.split("/").filter((c) => c !== "" && c !== "."), ...pending];
  }
  return { parts: done };
}

/**
 * The host path of `inner` inside `root`, following symlinks as if `root` were `/`. Components
 * that do not exist yet are appended as written (the caller creates them).
 */
export function resolveInRoot(root: string, inner: string): string {
  const walk = walkInRoot(inner, root, (parts) => {
    const host = join(root, ...parts);
    try {
      return { host, symlink: lstatSync(host).isSymbolicLink() };
    } catch (err) {
      if (!hasCode(err, "ENOENT")) throw SysError.fromNode(err, "resolve in rootfs");
      return undefined;
    }
  });
  return join(root, ...walk.parts, ...(walk.missing ?? []));
}

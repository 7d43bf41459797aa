// Pinning keeps a namespace alive without any process in it: a bind mount of its nsfs file
// (/proc/<pid>/ns/<type>) holds a reference, exactly as `ip netns add` does under /run/netns.
// Mounts are made from the calling process's main thread, which is in the host mount namespace.
import { mkdirSync, rmSync, statfsSync, statSync, writeFileSync } from "node:fs";
import * as libc from "../sys/libc";
import { hasCode, SysError, withContext } from "../sys/errors";
import { MNT_DETACH, MS_BIND, MS_PRIVATE } from "../sys/constants";
import { readMountinfo } from "../sys/mountinfo";

const NSFS_MAGIC = 0x6e736673;

/**
 * Makes dir (created if missing) a private bind mount of itself, idempotently. A pin of a mount
 * namespace under a shared mount would propagate into peers, possibly into the pinned namespace
 * itself, which the kernel refuses (EINVAL) because the reference would form a loop.
 */
export function ensurePrivateMount(dir: string): void {
  const context = `make ${dir} a private mount`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw SysError.fromNode(err, context);
  }
  const entry = readMountinfo().filter((m) => m.mountPoint === dir).pop();
  try {
    if (entry === undefined) libc.mount(dir, dir, null, MS_BIND);
    if (entry === undefined || entry.optional.some((f) => f.startsWith("shared:"))) libc.mount(null, dir, null, MS_PRIVATE);
  } catch (err) {
    throw withContext(err, context);
  }
}

/** True when dir is a mount point in this process's mount namespace. */
export function isMountPoint(path: string): boolean {
  return readMountinfo().some((m) => m.mountPoint === path);
}

/**
 * Bind-mounts the nsfs file source (e.g. /proc/<pid>/ns/net) onto target, creating target as an
 * empty file first. On failure nothing is left: the empty file is removed again.
 * context names what is pinned, e.g. "pin net namespace of web at /run/hostform/ns/web/net".
 */
export function pinNamespace(source: string, target: string, context: string): void {
  try {
    writeFileSync(target, "", { flag: "wx", mode: 0o444 });
  } catch (err) {
    throw SysError.fromNode(err, context);
  }
  try {
    libc.mount(source, target, null, MS_BIND);
  } catch (err) {
    rmSync(target, { force: true });
    throw withContext(err, context);
  }
}

/**
 * Unmounts every mount stacked on target (MNT_DETACH: a process still inside keeps the namespace,
 * the pin goes now) and removes the file. Succeeds when target is already gone.
 */
export function unpinNamespace(target: string, context: string): void {
  for (let i = 0; i < 16; i++) {
    try {
      libc.umount2(target, MNT_DETACH);
    } catch (err) {
      // EINVAL: no longer a mount point; ENOENT: no such file.
      if (hasCode(err, "EINVAL") || hasCode(err, "ENOENT")) break;
      throw withContext(err, context);
    }
  }
  try {
    rmSync(target, { force: true });
  } catch (err) {
    throw SysError.fromNode(err, context);
  }
}

/** The nsfs inode of a pinned file, or undefined when path is missing or is not a pin. */
export function pinnedInode(path: string): number | undefined {
  try {
    if (statfsSync(path).type !== NSFS_MAGIC) return undefined;
    return statSync(path).ino;
  } catch (err) {
    if (hasCode(err, "ENOENT")) return undefined;
    throw SysError.fromNode(err, `inspect pin ${path}`);
  }
}

/** The nsfs inode of a /proc namespace file (the identity `ls -l /proc/<pid>/ns` shows). */
export function nsInode(procPath: string): number | undefined {
  try {
    return statSync(procPath).ino;
  } catch (err) {
    if (hasCode(err, "ENOENT") || hasCode(err, "ESRCH")) return undefined;
    throw SysError.fromNode(err, `stat ${procPath}`);
  }
}


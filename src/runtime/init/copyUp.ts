// "tmpcopyup" (a runc extension podman and CRI-O pass for tmpfs mounts): the new tmpfs starts with
// a copy of the directory it covers, owners, modes and times kept, as runc's copy does. The covered
// directory stays reachable through a descriptor opened before the mount (its /proc/self/fd magic
// link names that directory, not the tmpfs on top). Synchronous only: see init/rootfs.ts.
import { chmodSync, closeSync, copyFileSync, lchownSync, lstatSync, lutimesSync, mkdirSync, openSync, readdirSync, readlinkSync, symlinkSync, type Stats, constants as fs } from "node:fs";
import { join } from "node:path";
import { SysError, ValidationError } from "../../sys/errors";

function keepAttributes(path: string, st: Stats): void {
  lchownSync(path, st.uid, st.gid);
  // After chown, which clears setuid and setgid bits.
  if (!st.isSymbolicLink()) chmodSync(path, st.mode & 0o7777);
  lutimesSync(path, st.atime, st.mtime);
}

function copyTree(from: string, to: string, shown: string): void {
  for (const name of readdirSync(from)) {
    const src = join(from, name);
    const dst = join(to, name);
    const st = lstatSync(src);
    if (st.isDirectory()) {
      mkdirSync(dst);
      copyTree(src, dst, join(shown, name));
    } else if (st.isFile()) {
      copyFileSync(src, dst, fs.COPYFILE_EXCL);
    } else if (st.isSymbolicLink()) {
      symlinkSync(readlinkSync(src), dst);
    } else {
      throw new ValidationError("mounts", `tmpcopyup: ${join(shown, name)} is a device, fifo or socket, which is not copied`, "remove it from the image, or drop tmpcopyup");
    }
    keepAttributes(dst, st);
  }
}

/** Opens the directory a tmpfs will cover; pass the result to copyUpInto once the tmpfs is mounted. */
export function openCovered(dest: string): number {
  try {
    return openSync(dest, fs.O_RDONLY | fs.O_DIRECTORY);
  } catch (err) {
    throw SysError.fromNode(err, "tmpcopyup: open the directory the tmpfs covers");
  }
}

/** Copies the covered directory (fd from openCovered, closed here) into the tmpfs now mounted at dest. */
export function copyUpInto(covered: number, dest: string, destination: string): void {
  try {
    const from = `/proc/self/fd/${covered}`;
    copyTree(from, dest, destination);
    keepAttributes(dest, lstatSync(from));
  } catch (err) {
    throw SysError.fromNode(err, `tmpcopyup of ${destination}`);
  } finally {
    closeSync(covered);
  }
}

// A directory tree as a read-only ext4 disk image for the guest, built by mke2fs -d (no mount, no
// root needed for the build itself). The guest mounts it read-only: see modulesImage.ts and
// repoImage.ts for why a disk rather than a 9p share.
import { execFileSync } from "node:child_process";
import { lstatSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { HostformError, SysError } from "../../src/sys/errors";

const BLOCK = 4096;

/** Bytes of data blocks and the number of inodes the tree needs. */
function treeSize(dir: string): { bytes: number; inodes: number } {
  let bytes = 0;
  let inodes = 1;
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = lstatSync(p);
      inodes++;
      bytes += Math.ceil(st.size / BLOCK) * BLOCK;
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return { bytes, inodes };
}

/** Writes an ext4 image of source to dest (through a temporary name, so a reader never sees half of one). */
export function buildExt4Image(source: string, dest: string, label: string, mke2fs: string): void {
  const { bytes, inodes } = treeSize(source);
  // Room for ext4's own metadata and a margin; the file is sparse, so unused blocks cost nothing.
  const blocks = Math.ceil((bytes * 1.2) / BLOCK) + 16_384;
  const tmp = `${dest}.tmp-${process.pid}`;
  try {
    // No journal: the guest mounts it read-only. root_owner: the image's root dir as the host's.
    execFileSync(mke2fs, ["-q", "-F", "-t", "ext4", "-b", String(BLOCK), "-N", String(Math.ceil(inodes * 1.2) + 1024),
      "-O", "^has_journal", "-E", "root_owner=0:0", "-L", label, "-d", source, tmp, String(blocks)], { stdio: ["ignore", "ignore", "pipe"] });
    renameSync(tmp, dest);
  } catch (err) {
    rmSync(tmp, { force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    if (stderr !== undefined && stderr !== "") throw new HostformError(`mke2fs -d ${source} ${dest} failed: ${stderr}`, { cause: err });
    throw SysError.fromNode(err, `build the disk image ${dest} of ${source}`);
  }
}

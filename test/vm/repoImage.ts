// The checkout (sources, the build under test, fixtures) as a read-only ext4 disk for the guest,
// built for each run: every test file and every container init is a Node process loading dozens
// of compiled modules, each open of which is a round trip to qemu over 9p. Without .git and
// node_modules (that has a disk of its own, mounted over the empty directory left here).
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { buildExt4Image } from "./ext4Image";

const LEFT_OUT = new Set([".git", "node_modules"]);

/** Writes the image of repo to dest. */
export function buildRepoImage(repo: string, dest: string, mke2fs: string): void {
  const staging = mkdtempSync(join(tmpdir(), "hostform-vm-repo-"));
  try {
    cpSync(repo, staging, {
      recursive: true,
      verbatimSymlinks: true,
      preserveTimestamps: true,
      // Sockets and FIFOs (a test's leftover) cannot be copied and mean nothing in the guest.
      filter: (src) => {
        if (LEFT_OUT.has(relative(repo, src))) return false;
        const st = lstatSync(src);
        return st.isFile() || st.isDirectory() || st.isSymbolicLink();
      },
    });
    // The mount point of the node_modules disk: the same symlink (a worktree's), or an empty directory.
    const modules = join(repo, "node_modules");
    if (lstatSync(modules).isSymbolicLink()) symlinkSync(readlinkSync(modules), join(staging, "node_modules"));
    else mkdirSync(join(staging, "node_modules"));
    buildExt4Image(staging, dest, "hostform-repo", mke2fs);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

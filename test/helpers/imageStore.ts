// What the image tests compare before and after a pull: the store's files, its tmp/, and the
// oci* dirs skopeo leaks into /var/tmp when it is not given a temp dir of its own.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

/** Every path under dir (files and directories), relative and sorted. */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      out.push(relative(dir, p));
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

export function varTmpOciDirs(): string[] {
  return readdirSync("/var/tmp").filter((n) => n.startsWith("oci")).sort();
}

/** Blobs whose sha256 is not their name (empty when every blob is what its name says). */
export function misnamedBlobs(store: string): string[] {
  const dir = join(store, "blobs", "sha256");
  return readdirSync(dir).filter((n) => createHash("sha256").update(readFileSync(join(dir, n))).digest("hex") !== n);
}

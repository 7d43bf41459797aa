// node_modules as a read-only ext4 disk for the guest, cached across runs. Every Node start in the
// guest resolves and reads hundreds of module files, and over 9p each open, stat and read is a
// round trip to qemu: under TCG, reading the 314 files require("@pulumi/pulumi") loads took 5.3 s
// and the require itself 8-11 s (0.27 s on the host), which pushed the engine's dynamic provider
// past its 30 s start limit. From the disk, the guest's own page cache serves them: 1.0 s and 3.5-4.5 s.
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync } from "node:fs";
import { join } from "node:path";
import { buildExt4Image } from "./ext4Image";

/** The image and the directory it holds (mounted at that same path in the guest). */
export interface ModulesImage {
  path: string;
  /** The real path of node_modules: the guest mounts the image there. */
  source: string;
  rebuilt: boolean;
}

/**
 * What identifies an installed node_modules: its path and npm's record of the install
 * (node_modules/.package-lock.json, rewritten by every npm install and npm ci).
 */
function installStamp(source: string): string {
  let lock: Buffer;
  try {
    lock = readFileSync(join(source, ".package-lock.json"));
  } catch {
    // Not installed by npm 7+: the tree's own modification time is all there is.
    lock = Buffer.from(String(lstatSync(source).mtimeMs));
  }
  return createHash("sha256").update(source).update("\0").update(lock).digest("hex").slice(0, 16);
}

/** The cached image of repo/node_modules in dir, built when the install changed; older ones are removed. */
export function prepareModulesImage(repo: string, mke2fs: string, dir: string): ModulesImage {
  const source = realpathSync(join(repo, "node_modules"));
  const name = `node_modules-${installStamp(source)}.ext4`;
  const path = join(dir, name);
  try {
    lstatSync(path);
    return { path, source, rebuilt: false };
  } catch {
    // not built yet
  }
  mkdirSync(dir, { recursive: true });
  buildExt4Image(source, path, "hostform-nm", mke2fs);
  for (const old of readdirSync(dir)) {
    if (old.startsWith("node_modules-") && old !== name) rmSync(join(dir, old), { force: true });
  }
  return { path, source, rebuilt: true };
}

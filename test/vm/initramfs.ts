// The guest's initramfs: static busybox, the virtio/9p modules, the two init stages and the few /etc
// files that programs from the host's /usr look up. Everything else comes from the host over 9p.
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, readlinkSync, lstatSync } from "node:fs";
import { join } from "node:path";
import { type CpioEntry, writeCpio } from "./cpio";
import { readShareModules } from "./kernelModules";
import type { VmPrerequisites } from "./prerequisites";

/** Where busybox, the modules, the stage-2 script and the job share live inside the guest. */
export const GUEST_DIR = "hostform-vm";

/**
 * Host /etc files the guest copies: user and group names, name service, the loader's cache, the
 * protocol and service names iptables resolves in rules (`-p tcp`, `--dport http`) as on the host,
 * and hostform's subordinate id ranges (userns "auto").
 */
const ETC_FILES = ["passwd", "group", "nsswitch.conf", "hosts", "ld.so.cache", "ld.so.conf", "protocols", "services", "subuid", "subgid"];

function busyboxApplets(busybox: string): string[] {
  return execFileSync(busybox, ["--list"], { encoding: "utf8" }).split("\n").filter((a) => /^[\w.[-]+$/.test(a) && a !== "busybox");
}

/** /etc/alternatives holds the symlinks that /usr/bin/awk and friends resolve through. */
function alternatives(): CpioEntry[] {
  const dir = "/etc/alternatives";
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  return names
    .filter((n) => lstatSync(join(dir, n)).isSymbolicLink())
    .map((n) => ({ kind: "symlink", path: `etc/alternatives/${n}`, target: readlinkSync(join(dir, n)) }));
}

/**
 * The members of the initramfs, directories before their contents. guestScripts is the directory
 * holding the `init` (stage 1) and `stage2` shell scripts.
 */
export function initramfsEntries(prereq: VmPrerequisites, guestScripts: string): CpioEntry[] {
  const dirs = ["dev", "proc", "sys", "newroot", "run", "tmp", "usr", "var", "etc", "etc/alternatives", "root", "mnt",
    GUEST_DIR, `${GUEST_DIR}/bin`, `${GUEST_DIR}/modules`, `${GUEST_DIR}/job`];
  const entries: CpioEntry[] = dirs.map((path) => ({ kind: "dir", path, mode: path === "tmp" ? 0o1777 : path === "root" ? 0o700 : 0o755 }));

  for (const [name, target] of Object.entries(prereq.usrSymlinks)) entries.push({ kind: "symlink", path: name, target });

  entries.push({ kind: "file", path: "init", mode: 0o755, data: readFileSync(join(guestScripts, "init")) });
  entries.push({ kind: "file", path: `${GUEST_DIR}/stage2`, mode: 0o755, data: readFileSync(join(guestScripts, "stage2")) });

  entries.push({ kind: "file", path: `${GUEST_DIR}/bin/busybox`, mode: 0o755, data: readFileSync(prereq.busybox) });
  for (const applet of busyboxApplets(prereq.busybox)) entries.push({ kind: "symlink", path: `${GUEST_DIR}/bin/${applet}`, target: "busybox" });

  const modules = readShareModules(prereq.kernel.modulesDir, prereq.xz);
  for (const m of modules) entries.push({ kind: "file", path: `${GUEST_DIR}/modules/${m.name}.ko`, mode: 0o644, data: m.data });
  entries.push({ kind: "file", path: `${GUEST_DIR}/modules/order`, mode: 0o644, data: Buffer.from(modules.map((m) => `${m.name}\n`).join("")) });

  for (const name of ETC_FILES) {
    let data: Buffer;
    try {
      data = readFileSync(join("/etc", name));
    } catch {
      continue;
    }
    entries.push({ kind: "file", path: `etc/${name}`, mode: 0o644, data });
  }
  entries.push(...alternatives());
  entries.push({ kind: "symlink", path: "etc/mtab", target: "../proc/self/mounts" });
  return entries;
}

/** The initramfs as a newc cpio archive (uncompressed: qemu loads it straight into guest memory). */
export function buildInitramfs(prereq: VmPrerequisites, guestScripts: string): Buffer {
  return writeCpio(initramfsEntries(prereq, guestScripts));
}

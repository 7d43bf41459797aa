// /dev inside the container: the device nodes every OCI runtime creates on a /dev tmpfs, their
// usual symlinks, the spec's linux.devices, and recognising a real null device (masked paths and
// ignored stdio use it).
import { chmodSync, chownSync, closeSync, constants as fsConstants, existsSync, fstatSync, lstatSync, mkdirSync, openSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import * as libc from "../../sys/libc";
import { MS_BIND } from "../../sys/constants";
import { SysError, hasCode } from "../../sys/errors";
import { resolveInRoot } from "../rootPath";
import type { DeviceSpec } from "../specDevices";

/** The OCI default devices: name, major, minor. */
const DEVICES: ReadonlyArray<readonly [string, number, number]> = [
  ["null", 1, 3], ["zero", 1, 5], ["full", 1, 7], ["random", 1, 8], ["urandom", 1, 9], ["tty", 5, 0],
];
const LINKS: ReadonlyArray<readonly [string, string]> = [
  ["fd", "/proc/self/fd"], ["stdin", "/proc/self/fd/0"], ["stdout", "/proc/self/fd/1"],
  ["stderr", "/proc/self/fd/2"], ["ptmx", "pts/ptmx"],
];

/**
 * Creates the default nodes and links in the rootfs's /dev (host path, before pivot_root); existing
 * ones are kept. Where mknod is refused (in a user namespace: only the host's may make nodes, and a
 * tmpfs mounted in there would not honour them anyway) the host's node is bound in, as runc does.
 */
export function createDevices(rootfs: string): void {
  const dev = resolveInRoot(rootfs, "/dev");
  for (const [name, major, minor] of DEVICES) {
    const p = join(dev, name);
    if (existsSync(p)) continue;
    try {
      libc.mknod(p, fsConstants.S_IFCHR | 0o666, major, minor);
    } catch (err) {
      if (!(err instanceof SysError && err.code === "EPERM")) throw err;
      bindHostNode(join("/dev", name), p);
    }
  }
  for (const [name, target] of LINKS) {
    try {
      symlinkSync(target, join(dev, name));
    } catch (err) {
      if (!hasCode(err, "EEXIST")) throw err;
    }
  }
}

const TYPE_BITS: Record<DeviceSpec["type"], number> = { c: fsConstants.S_IFCHR, u: fsConstants.S_IFCHR, b: fsConstants.S_IFBLK, p: fsConstants.S_IFIFO };

/**
 * Creates linux.devices in the rootfs as runc does: mknod with the spec's mode and owner; a node that
 * exists is kept; where mknod is refused (EPERM: no CAP_MKNOD, or the device cgroup denies "m") the
 * host's node of the same path is bind-mounted onto an empty file instead. /dev/ptmx is left to devpts.
 */
export function createSpecDevices(rootfs: string, devices: readonly DeviceSpec[]): void {
  for (const d of devices) {
    if (d.path === "/dev/ptmx") continue;
    const dest = resolveInRoot(rootfs, d.path);
    mkdirSync(dirname(dest), { recursive: true, mode: 0o755 });
    const mode = (d.fileMode ?? 0o666) & 0o7777;
    try {
      libc.mknod(dest, TYPE_BITS[d.type] | mode, d.major, d.minor);
    } catch (err) {
      if (err instanceof SysError && err.code === "EEXIST") continue;
      if (err instanceof SysError && err.code === "EPERM") {
        bindHostNode(d.path, dest);
        continue;
      }
      throw err;
    }
    // mknod's mode went through the umask.
    chmodSync(dest, mode);
    chownSync(dest, d.uid ?? 0, d.gid ?? 0);
  }
}

function bindHostNode(hostPath: string, dest: string): void {
  closeSync(openSync(dest, fsConstants.O_CREAT | fsConstants.O_WRONLY | fsConstants.O_NOFOLLOW, 0));
  libc.mount(hostPath, dest, null, MS_BIND);
}

const NULL_MAJOR = 1;
const NULL_MINOR = 3;

/** True when st_rdev is device 1:3 (glibc's dev_t: major in bits 8-19, the minor's low byte in bits 0-7). */
export function isNullRdev(rdev: number): boolean {
  return Math.floor(rdev / 256) % 4096 === NULL_MAJOR && (rdev & 0xff) === NULL_MINOR;
}

/** An open fd of `path` when it is the null device (char 1:3), else undefined. */
export function openNullDevice(path: string): number | undefined {
  let fd: number;
  try {
    // Checked before opening: opening a fifo planted there by the rootfs would block. O_NOFOLLOW
    // for a symlink (libuv adds O_CLOEXEC); the fstat below is what decides.
    if (!lstatSync(path).isCharacterDevice()) return undefined;
    fd = openSync(path, fsConstants.O_RDWR | fsConstants.O_NOFOLLOW);
  } catch (err) {
    // Absent, a symlink, a device without a driver, or not ours to open: not a usable null device.
    if (hasCode(err, "ENOENT") || hasCode(err, "ELOOP") || hasCode(err, "ENXIO") || hasCode(err, "EACCES")) return undefined;
    throw err;
  }
  const st = fstatSync(fd);
  if (st.isCharacterDevice() && isNullRdev(st.rdev)) return fd;
  closeSync(fd);
  return undefined;
}

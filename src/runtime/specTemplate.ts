// `hostform-runtime spec`: the starting config.json for a bundle, the one `runc spec` writes (runc
// 1.1.5) so that tools and people used to runc get the same file: `sh` on a terminal, a read-only
// "rootfs" beside config.json, three capabilities, no network but a fresh namespace, every device
// denied.
import { UnsupportedError } from "../sys/errors";
import { DEFAULT_READONLY_PATHS } from "./specgen/defaults";

export interface BundleSpecOptions {
  /**
   * runc's --rootless: a user namespace mapping the caller's ids. hostform cannot create user
   * namespaces, so this is refused rather than written as a config hostform would refuse.
   */
  rootless?: boolean;
  /** process.terminal (runc: true). */
  terminal?: boolean;
}

/** The OCI spec version hostform implements (`hostform-runtime --version`'s "spec:"). */
export const OCI_SPEC_VERSION = "1.0.2";

/** runc's masked paths (Docker's list, specgen/defaults.ts, adds /proc/interrupts and powercap). */
const MASKED_PATHS = ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"];

const CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/** A fresh config.json object (the caller may change it). */
export function defaultBundleSpec(options: BundleSpecOptions = {}): Record<string, unknown> {
  if (options.rootless === true) {
    throw new UnsupportedError("spec --rootless: a rootless bundle needs a user namespace, which hostform cannot create (Node cannot unshare one); write the spec as root without --rootless");
  }
  const nosuidNoexecNodev = ["nosuid", "noexec", "nodev"];
  return {
    ociVersion: OCI_SPEC_VERSION,
    process: {
      terminal: options.terminal ?? true,
      user: { uid: 0, gid: 0 },
      args: ["sh"],
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: { bounding: [...CAPS], effective: [...CAPS], permitted: [...CAPS], ambient: [...CAPS] },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "hostform",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
      { destination: "/dev/shm", type: "tmpfs", source: "shm", options: [...nosuidNoexecNodev, "mode=1777", "size=65536k"] },
      { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: [...nosuidNoexecNodev] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: [...nosuidNoexecNodev, "ro"] },
      { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: [...nosuidNoexecNodev, "relatime", "ro"] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: "rwm" }] },
      namespaces: [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }],
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
    },
  };
}

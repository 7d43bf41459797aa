// Docker's secure defaults as an OCI spec (moby's oci/defaults.go): what a container gets for
// everything its declaration leaves out.
import { DOCKER_DEFAULT_CAPABILITIES } from "../../sys/constants";
import { DEFAULT_PATH } from "../programSearch";
import type { ContainerSpec, UserSpec } from "../spec";

/** Docker's masked paths: hidden from the container. */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
  "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
  "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
  "/sys/devices/virtual/powercap",
];

/** Docker's read-only paths. */
export const DEFAULT_READONLY_PATHS: readonly string[] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/** Inputs of defaultSpec: what a container must say; everything else gets Docker's secure default. */
export interface DefaultSpecOptions {
  rootfs: string;
  args: string[];
  env?: string[];
  cwd?: string;
  hostname?: string;
  user?: UserSpec;
  readonlyRoot?: boolean;
}

/**
 * A spec with Docker's secure defaults: the 14 default capabilities (none inheritable or ambient),
 * no_new_privs, rlimits inherited from the launcher (as dockerd does), new pid/mount/uts/ipc/net/cgroup
 * namespaces, /proc, a tmpfs /dev with devpts, shm and mqueue, /sys read-only, and Docker's masked and
 * read-only paths.
 */
export function defaultSpec(o: DefaultSpecOptions): ContainerSpec {
  const caps = [...DOCKER_DEFAULT_CAPABILITIES];
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: o.user ?? { uid: 0, gid: 0 },
      args: o.args,
      env: o.env ?? [`PATH=${DEFAULT_PATH}`],
      cwd: o.cwd ?? "/",
      capabilities: { bounding: caps, effective: [...caps], permitted: [...caps] },
      noNewPrivileges: true,
    },
    root: { path: o.rootfs, readonly: o.readonlyRoot ?? false },
    hostname: o.hostname ?? "hostform",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
      { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
      { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    ],
    linux: {
      namespaces: [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "cgroup" }],
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
    },
  };
}

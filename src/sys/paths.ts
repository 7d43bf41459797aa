import { join } from "node:path";

/**
 * Root of hostform's runtime state (pinned namespaces, container state, supervisor socket).
 * /run is a tmpfs: state there dies with the boot, as the kernel objects it describes do.
 * HOSTFORM_RUN_DIR moves it, for tests and for hosts that mount /run differently.
 */
export function runDir(): string {
  return process.env.HOSTFORM_RUN_DIR ?? "/run/hostform";
}

export function nsDir(): string {
  return join(runDir(), "ns");
}

export function containersDir(): string {
  return join(runDir(), "containers");
}

/**
 * Root of hostform's lasting data: what must survive a reboot, unlike the run dir (images and their
 * unpacked layers). HOSTFORM_LIB_DIR moves it, for tests and for hosts with another data disk.
 */
export function libDir(): string {
  return process.env.HOSTFORM_LIB_DIR ?? "/var/lib/hostform";
}

/** Name of the cgroup every hostform cgroup lives under, in each hierarchy. */
export const CGROUP_PARENT = "hostform";

/**
 * The lock every hostform process takes around changes to the host's network (CNI ADD and DEL, the
 * plugins' shared iptables chains). Not under the run dir: bridges and iptables are the host's, shared
 * by every run dir (HOSTFORM_NET_LOCK moves it).
 */
export function hostNetLockPath(): string {
  return process.env.HOSTFORM_NET_LOCK ?? "/run/lock/hostform-net.lock";
}

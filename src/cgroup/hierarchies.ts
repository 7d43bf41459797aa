// The host's cgroup hierarchies as a container's "cgroup" mount must show them again: where each
// is mounted under /sys/fs/cgroup, the options that select it, and a process's own cgroup in it.
// Read by the init, which still sees the host's mount table when it builds the container's.
import { readMountinfo, type MountInfo } from "../sys/mountinfo";
import type { CgroupMembership } from "./membership";

/** One cgroup hierarchy of the host under /sys/fs/cgroup. */
export interface HostHierarchy {
  /** Directory name under /sys/fs/cgroup ("memory", "cpu,cpuacct", "unified"); "" for a cgroup2-only host. */
  name: string;
  type: "cgroup" | "cgroup2";
  /** Super options minus rw/ro: "memory", "xattr,name=systemd", "" for cgroup2 (what mount(2) takes as data). */
  data: string;
}

/** The hierarchies mounted at /sys/fs/cgroup/<name>; unifiedOnly when /sys/fs/cgroup itself is cgroup2. */
export function hostHierarchies(mounts: readonly MountInfo[] = readMountinfo()): { unifiedOnly: boolean; hierarchies: HostHierarchy[] } {
  const out: HostHierarchy[] = [];
  let unifiedOnly = false;
  for (const m of mounts) {
    if (m.fstype !== "cgroup" && m.fstype !== "cgroup2") continue;
    if (m.mountPoint === "/sys/fs/cgroup" && m.fstype === "cgroup2") unifiedOnly = true;
    if (!m.mountPoint.startsWith("/sys/fs/cgroup/")) continue;
    const name = m.mountPoint.slice("/sys/fs/cgroup/".length);
    if (name.includes("/")) continue;
    out.push({ name, type: m.fstype, data: m.superOptions.filter((o) => o !== "rw" && o !== "ro").join(",") });
  }
  return { unifiedOnly, hierarchies: out };
}

/** Mount options of a v1 hierarchy that do not select it. */
const NON_SELECTING = new Set(["xattr", "noprefix", "clone_children", "cpuset_v2_mode", "favordynmods", "nofavordynmods"]);

/** The path of a process's cgroup in hierarchy h, from its memberships (/proc/<pid>/cgroup). */
export function cgroupPathIn(h: HostHierarchy, memberships: readonly CgroupMembership[]): string | undefined {
  const selecting = (words: string[]) => words.filter((o) => o !== "" && !NON_SELECTING.has(o) && !o.startsWith("release_agent=")).sort().join(",");
  const wanted = h.type === "cgroup2" ? "" : selecting(h.data.split(","));
  for (const m of memberships) {
    if ((h.type === "cgroup2") !== (m.hierarchyId === 0)) continue;
    const words = [...m.controllers, ...(m.name !== undefined ? [`name=${m.name}`] : [])];
    if (selecting(words) === wanted) return m.path;
  }
  return undefined;
}

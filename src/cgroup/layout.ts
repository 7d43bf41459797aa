// Which cgroup hierarchies this host mounts. Pure on the texts it is given so that fixtures of pure v2,
// pure v1 and hybrid hosts can be tested; the host's own layout is read once and cached.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { UnsupportedError, hasCode } from "../sys/errors";
import { parseMountinfo } from "../sys/mountinfo";

/** How a host mounts its cgroups. */
export interface CgroupLayout {
  /** "v2": one cgroup2 hierarchy holds every controller; "v1": only v1 hierarchies; "hybrid": v1
   *  controller hierarchies plus a cgroup2 mount (systemd's "unified" directory) with few or none. */
  mode: "v2" | "v1" | "hybrid";
  /** Mount point of the cgroup2 hierarchy, when one is mounted. */
  unifiedMount?: string;
  /** Controllers available in the cgroup2 root (its cgroup.controllers). */
  v2Controllers: string[];
  /** v1 controller name -> mount point. Co-mounted controllers ("cpu,cpuacct") share one mount point;
   *  named hierarchies without a controller (name=systemd) are not listed. */
  v1Mounts: Record<string, string>;
}

/** Controller names the kernel knows (first column of /proc/cgroups) and whether each is enabled. */
function knownControllers(procCgroups: string): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const line of procCgroups.split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const [name, , , enabled] = line.trim().split(/\s+/);
    if (name !== undefined) out.set(name, enabled !== "0");
  }
  return out;
}

/**
 * Detects the cgroup layout from the text of /proc/self/mountinfo and /proc/cgroups, and the content
 * of the unified root's cgroup.controllers. Each argument defaults to the host's own file; called
 * with no arguments the result is cached for the life of the process.
 * Throws UnsupportedError when no cgroup hierarchy is mounted at all.
 */
export function detectLayout(mountinfo?: string, procCgroups?: string, unifiedControllers?: string): CgroupLayout {
  const host = mountinfo === undefined && procCgroups === undefined && unifiedControllers === undefined;
  if (host && cached !== undefined) return cached;
  const mi = mountinfo ?? readFileSync("/proc/self/mountinfo", "utf8");
  const known = knownControllers(procCgroups ?? readFileSync("/proc/cgroups", "utf8"));

  let unifiedMount: string | undefined;
  const v1Mounts: Record<string, string> = {};
  for (const m of parseMountinfo(mi)) {
    if (m.fstype === "cgroup2") {
      unifiedMount ??= m.mountPoint;
    } else if (m.fstype === "cgroup") {
      // Super options mix flags (rw, noprefix, xattr, release_agent=...) with controller names;
      // only names /proc/cgroups knows are controllers. name=systemd has none and is skipped.
      for (const opt of m.superOptions) {
        if (known.get(opt) === true && v1Mounts[opt] === undefined) v1Mounts[opt] = m.mountPoint;
      }
    }
  }

  const hasV1 = Object.keys(v1Mounts).length > 0;
  if (unifiedMount === undefined && !hasV1) {
    throw new UnsupportedError("no cgroup hierarchy is mounted (neither cgroup2 nor a v1 controller in /proc/self/mountinfo)");
  }
  let v2Controllers: string[] = [];
  if (unifiedMount !== undefined) {
    let text = unifiedControllers;
    if (text === undefined) {
      try {
        text = readFileSync(join(unifiedMount, "cgroup.controllers"), "utf8");
      } catch (err) {
        if (!hasCode(err, "ENOENT")) throw err;
        text = "";
      }
    }
    v2Controllers = text.trim().split(/\s+/).filter((c) => c !== "");
  }
  const layout: CgroupLayout = {
    mode: unifiedMount === undefined ? "v1" : hasV1 ? "hybrid" : "v2",
    v2Controllers,
    v1Mounts,
  };
  if (unifiedMount !== undefined) layout.unifiedMount = unifiedMount;
  if (host) cached = layout;
  return layout;
}

let cached: CgroupLayout | undefined;

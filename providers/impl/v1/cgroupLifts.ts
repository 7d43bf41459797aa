// What to write when a declared limit is removed from the program: the kernel keeps the last value
// written, so "no longer declared" has to be written as the value that lifts the limit.
import { LIMIT_GROUPS, type CgroupLimits } from "../../../src/cgroup/spec";

/** The kernel's "no limit" (or default) value of each liftable limit. */
const LIFTED: Record<string, Record<string, unknown>> = {
  memory: { max: "max", high: "max", low: 0, swapMax: "max" },
  cpu: { weight: 100, shares: 1024, quota: "max" },
  pids: { max: "max" },
  io: { weight: 100, blkioWeight: 500 },
};

/**
 * The limits to apply for `news`, plus the lifted value of every limit `olds` declared and `news`
 * no longer does. cpuset lists and io device throttles are not lifted (see the provider README).
 */
export function withLiftedLimits(olds: CgroupLimits, news: CgroupLimits): CgroupLimits {
  const out: Record<string, Record<string, unknown>> = {};
  for (const group of LIMIT_GROUPS) {
    const o = (olds[group] ?? {}) as Record<string, unknown>;
    const n = (news[group] ?? {}) as Record<string, unknown>;
    const merged: Record<string, unknown> = { ...n };
    for (const key of Object.keys(o)) {
      if (n[key] !== undefined && n[key] !== null) continue;
      if (group === "cpu" && key === "cores" && n.quota === undefined) merged.quota = "max";
      else if (group === "cpu" && key === "period") continue;
      else if (LIFTED[group]?.[key] !== undefined) merged[key] = LIFTED[group]![key];
    }
    // Weight and shares are one setting in two scales; lifting one while the other is declared
    // would write the setting twice.
    if (group === "cpu" && merged.weight !== undefined && merged.shares !== undefined) delete merged[n.weight !== undefined ? "shares" : "weight"];
    if (group === "io" && merged.weight !== undefined && merged.blkioWeight !== undefined) delete merged[n.weight !== undefined ? "blkioWeight" : "weight"];
    if (Object.keys(merged).length > 0) out[group] = merged;
  }
  return out as CgroupLimits;
}

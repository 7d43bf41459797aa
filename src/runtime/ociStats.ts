// `hostform-runtime events --stats`: a container's cgroup usage as the JSON line runc prints, runc's
// types.Stats (runc 1.1.5 events/types.go). Only what hostform's CgroupStats measures is filled in;
// the rest of runc's record (per-cpu times, swap, kernel memory, memory.stat, blkio) is left out
// rather than reported as zero.
import type { CgroupStats } from "../cgroup/controller";
import type { NormalizedLimits } from "../cgroup/spec";

/** runc's MemoryEntry; limit is always present, as in runc (no omitempty). */
export interface OciMemoryEntry {
  limit: number;
  usage?: number;
  max?: number;
  failcnt: number;
}

/** runc's types.Stats, the parts hostform fills. Times are nanoseconds, sizes bytes. */
export interface OciStatsData {
  cpu: {
    usage: { total: number; kernel: number; user: number };
    /** runc omits each counter while it is zero. */
    throttling: { periods?: number; throttled_periods?: number; throttled_time?: number };
  };
  memory: { usage?: OciMemoryEntry };
  pids: { current?: number; limit?: number };
  blkio: Record<string, never>;
}

export interface OciStatsEvent {
  type: "stats";
  id: string;
  data: OciStatsData;
}

/**
 * What runc reports as the limit of an unlimited memory cgroup on v1: the kernel's LONG_MAX rounded
 * down to a page. A double holds it exactly (2^63 - 4096).
 */
export const UNLIMITED_MEMORY = 9223372036854771712;

const NS_PER_USEC = 1000;

/** Drops the zero counters, as Go's omitempty does. */
function nonZero<T extends Record<string, number>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== 0)) as Partial<T>;
}

/** The stats event of container `id`; `limits` (the driver's read() of its cgroup) gives the memory and pids limits. */
export function statsEvent(id: string, stats: CgroupStats, limits: NormalizedLimits): OciStatsEvent {
  const cpu = stats.cpu;
  const data: OciStatsData = {
    cpu: {
      usage: {
        total: (cpu?.usageUsec ?? 0) * NS_PER_USEC,
        kernel: (cpu?.systemUsec ?? 0) * NS_PER_USEC,
        user: (cpu?.userUsec ?? 0) * NS_PER_USEC,
      },
      throttling: nonZero({ periods: cpu?.nrPeriods ?? 0, throttled_periods: cpu?.nrThrottled ?? 0, throttled_time: (cpu?.throttledUsec ?? 0) * NS_PER_USEC }),
    },
    memory: {},
    pids: {},
    blkio: {},
  };
  const mem = stats.memory;
  if (mem !== undefined) {
    const max = limits.memory?.max;
    data.memory.usage = {
      limit: typeof max === "number" ? max : UNLIMITED_MEMORY,
      ...nonZero({ usage: mem.current, max: mem.peak ?? 0 }),
      failcnt: mem.maxHits ?? 0,
    };
  }
  const pidsMax = limits.pids?.max;
  data.pids = nonZero({ current: stats.pids?.current ?? 0, limit: typeof pidsMax === "number" ? pidsMax : 0 });
  return { type: "stats", id, data };
}

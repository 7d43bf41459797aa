// The one interface every controller file implements, per cgroup version, and the stats record.
import type { NormalizedLimits } from "./spec";

/** Usage counters of one cgroup. Fields a host cannot report are absent. */
export interface CgroupStats {
  memory?: {
    /** Bytes in use now (v2 memory.current, v1 memory.usage_in_bytes). */
    current: number;
    /** Highest usage seen (v2 memory.peak, v1 memory.max_usage_in_bytes). */
    peak?: number;
    /** Times the limit was hit and reclaim failed (v2 memory.events oom; v1 has no such counter). */
    oom?: number;
    /** Processes killed by the OOM killer (v2 memory.events oom_kill, v1 memory.oom_control oom_kill). */
    oomKill: number;
    /** Times usage reached the hard limit (v2 memory.events max, v1 memory.failcnt). */
    maxHits?: number;
  };
  cpu?: {
    /** CPU time used in microseconds (v2 cpu.stat usage_usec, v1 cpuacct.usage / 1000). */
    usageUsec?: number;
    userUsec?: number;
    systemUsec?: number;
    /** CFS periods elapsed with the cgroup runnable, and those in which it was throttled. */
    nrPeriods: number;
    nrThrottled: number;
    /** Time spent throttled in microseconds (v2 throttled_usec, v1 throttled_time / 1000). */
    throttledUsec: number;
  };
  pids?: { current: number; /** Forks refused by pids.max (pids.events max). */ limitHits?: number };
}

/**
 * One controller of one cgroup version (youki style): turns version-neutral limits into its files,
 * reads them back in the same normalized form, and reads usage.
 */
export interface Controller {
  /** Kernel controller name: the v2 subtree_control word or the v1 hierarchy ("memory", "blkio"). */
  readonly name: string;
  /** Which NormalizedLimits groups this controller writes ("io" for blkio, "cpu" for cpu, ...). */
  readonly groups: readonly string[];
  /**
   * Converts validated limits of its groups into what this version stores (e.g. weight -> shares on
   * v1), throwing UnsupportedError/ValidationError for what the version cannot express. Returns only
   * its groups' part.
   */
  normalize(limits: NormalizedLimits, fieldPrefix: string): NormalizedLimits;
  /** Called once on a directory this manager has just created, before anything joins it. */
  prepare?(dir: string, parentDir: string): void;
  /** Writes the limits it owns (already normalized) into dir; fields not given are left as they are. */
  apply(dir: string, limits: NormalizedLimits): void;
  /** Reads back every limit it owns, normalized. */
  read(dir: string): NormalizedLimits;
  /** Usage counters it can report. */
  stats(dir: string): StatsPart;
}

/** What one controller contributes to CgroupStats; the manager merges the parts. */
export type StatsPart = { [K in keyof CgroupStats]?: Partial<NonNullable<CgroupStats[K]>> };

// The one interface every controller file implements, per cgroup version, and the stats record.

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

/** The fields of an OCI linux.resources object that one limit group reads. */
export interface OciMapping<D> {
  /** Key under linux.resources ("memory", "cpu", "pids", "blockIO"). */
  readonly key: string;
  /** Its fields this group reads; fields no group reads are refused by name, never dropped. */
  readonly fields: readonly string[];
  /** The declared limits in the object, or undefined when it sets none of this group's fields. */
  from(o: Readonly<Record<string, unknown>>, field: string): D | undefined;
}

/**
 * A limit group: the version-neutral limits one controller writes ("memory", "cpu", "io"), as a
 * user declares them (D) and in the kernel's terms (L). It lives with its v2 controller, v2 being
 * the model (weights, "max") that v1 controllers convert to and from.
 */
export interface LimitGroup<N extends string = string, D = unknown, L = unknown> {
  readonly name: N;
  /** Checks a declaration and resolves it into kernel terms; ValidationError naming the field. */
  validate(input: unknown, field: string): L;
  /** Where OCI's linux.resources carries this group, when it does. */
  readonly oci?: OciMapping<D>;
  /**
   * What to write for limits `olds` declared and `news` no longer does: the kernel keeps the last
   * value written, so "no longer declared" is written as the value that lifts the limit.
   */
  lift(olds: D, news: D): D;
}

/** The declared form of a group. */
export type DeclaredOf<G> = G extends LimitGroup<string, infer D, unknown> ? D : never;
/** The kernel-terms form of a group. */
export type NormalizedOf<G> = G extends LimitGroup<string, unknown, infer L> ? L : never;

/**
 * One controller of one cgroup version (youki style): writes its group's limits into its files,
 * reads them back in the same normalized form, and reads usage. Controllers without a group
 * (v1 cpuacct, freezer) only report usage or serve a mechanism.
 */
export interface Controller<G extends LimitGroup | undefined = LimitGroup | undefined> {
  /** Kernel controller name: the v2 subtree_control word or the v1 hierarchy ("memory", "blkio"). */
  readonly name: string;
  /** The limit group it writes. */
  readonly limits: G;
  /**
   * v2 only: part of every cgroup2 hierarchy rather than a controller listed in cgroup.controllers
   * and enabled in cgroup.subtree_control (device filtering is a BPF program attached to the cgroup).
   */
  readonly builtIn?: boolean;
  /**
   * Converts validated limits of its group into what this version stores (e.g. weight -> shares on
   * v1), throwing UnsupportedError/ValidationError for what the version cannot express. Default: as given.
   */
  normalize?(own: NormalizedOf<G>, field: string): NormalizedOf<G>;
  /** Called once on a directory the manager has just created, before anything joins it. */
  prepare?(dir: string, parentDir: string): void;
  /** Writes its limits (already normalized) into dir; fields not given are left as they are. */
  apply?(dir: string, own: NormalizedOf<G>): void;
  /** Reads back every limit it owns, normalized. */
  read?(dir: string): NormalizedOf<G>;
  /** Usage counters it can report. */
  stats?(dir: string): StatsPart;
}

/** A controller of any group, as a manager's list holds it. */
// Methods are bivariant in TypeScript, so a Controller<typeof memoryLimits> is one of these.
export type AnyController = Controller<LimitGroup | undefined>;

/** What one controller contributes to CgroupStats; the manager merges the parts. */
export type StatsPart = { [K in keyof CgroupStats]?: Partial<NonNullable<CgroupStats[K]>> };

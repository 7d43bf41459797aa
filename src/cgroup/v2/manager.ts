// The cgroup v2 manager: one directory per cgroup in the unified hierarchy, controllers enabled in
// cgroup.subtree_control along the path, and the core files (cgroup.procs, cgroup.events,
// cgroup.freeze, cgroup.kill) that work on any cgroup2 mount, even one with no controllers.
import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { TimeoutError } from "../../sys/errors";
import { readCgroupFile, readFlatKeyed, readOptional, readPids, writeCgroupFile } from "../cgroupfs";
import type { AnyController, StatsPart } from "../controller";
import { applyEach, normalizeEach, readEach, statsEach } from "../controllers";
import type { NormalizedLimits } from "../spec";
import { cgroupDir, makeCgroupPath, removeCgroupTree, subtreeDeepestFirst, waitFor } from "../tree";
import { cpuV2 } from "./cpu";
import { cpusetV2 } from "./cpuset";
import { devicesV2 } from "./devices";
import { ioV2 } from "./io";
import { memoryV2 } from "./memory";
import { pidsV2 } from "./pids";

/** Every v2 controller hostform writes, in the order limits are applied. A new controller is one line here. */
export const V2_CONTROLLERS = [cpusetV2, cpuV2, memoryV2, pidsV2, ioV2, devicesV2] as const;

/** Manages hostform's cgroups in one cgroup2 hierarchy mounted at `mount`. */
export class V2Manager {
  /**
   * @param mount the cgroup2 mount point
   * @param controllers the controllers this manager owns; empty on a hybrid host, where only the
   *   core files are used
   */
  constructor(
    readonly mount: string,
    readonly controllers: readonly AnyController[],
  ) {}

  dir(segments: string[]): string {
    return cgroupDir(this.mount, segments);
  }

  /** Converts validated limits to v2's terms, for the groups this manager owns. */
  normalize(limits: NormalizedLimits, prefix: string): NormalizedLimits {
    return normalizeEach(this.controllers, limits, prefix);
  }

  /**
   * Creates the directories, enabling this manager's controllers in cgroup.subtree_control of every
   * level above the leaf. At the mount root it only ever adds a missing controller; below it only
   * hostform-owned directories are written. Returns the directories it created.
   */
  ensure(segments: string[]): string[] {
    const wanted = this.controllers.filter((c) => c.builtIn !== true).map((c) => c.name);
    if (wanted.length > 0) this.enable(this.mount, wanted);
    const leaf = this.dir(segments);
    return makeCgroupPath(this.mount, segments, (dir) => {
      if (dir !== leaf && wanted.length > 0) this.enable(dir, wanted);
    });
  }

  private enable(dir: string, names: string[]): void {
    const enabled = new Set(readCgroupFile(join(dir, "cgroup.subtree_control")).split(/\s+/));
    const missing = names.filter((n) => !enabled.has(n));
    // One write per controller: a single multi-word write fails whole if one word is refused.
    for (const n of missing) writeCgroupFile(join(dir, "cgroup.subtree_control"), `+${n}`);
  }

  apply(segments: string[], limits: NormalizedLimits): void {
    const dir = this.dir(segments);
    applyEach(this.controllers, () => dir, limits);
  }

  /** Live limits; nothing when the directory is gone (missing() names the hierarchy). */
  read(segments: string[]): NormalizedLimits {
    const dir = this.dir(segments);
    return existsSync(dir) ? readEach(this.controllers, () => dir) : {};
  }

  stats(segments: string[]): StatsPart[] {
    const dir = this.dir(segments);
    return statsEach(this.controllers, () => dir);
  }

  exists(segments: string[]): boolean {
    return existsSync(this.dir(segments));
  }

  /** The hierarchy (by its mount's name) when the cgroup has no directory in it. */
  missing(segments: string[]): string[] {
    return this.exists(segments) ? [] : [basename(this.mount)];
  }

  /** Processes directly in the cgroup (not in its children). */
  procs(segments: string[]): number[] {
    return readPids(join(this.dir(segments), "cgroup.procs"));
  }

  /** Whether any process lives in the cgroup or below it (cgroup.events "populated"). */
  populated(segments: string[]): boolean {
    const events = readOptional(join(this.dir(segments), "cgroup.events"));
    return events !== undefined && /^populated 1$/m.test(events);
  }

  /** Freezes (or thaws) the subtree and waits until cgroup.events reports it. */
  async setFrozen(segments: string[], frozen: boolean, timeoutMs = 5000): Promise<void> {
    const dir = this.dir(segments);
    writeCgroupFile(join(dir, "cgroup.freeze"), frozen ? "1" : "0");
    const want = frozen ? 1 : 0;
    const ok = await waitFor(() => readFlatKeyed(join(dir, "cgroup.events")).get("frozen") === want, timeoutMs);
    if (!ok) throw new TimeoutError(`${frozen ? "freeze" : "thaw"} ${dir}`, timeoutMs, `${join(dir, "cgroup.events")} never reported frozen ${want}`);
  }

  /** Whether cgroup.events reports the subtree frozen (false when the directory is gone). */
  isFrozen(segments: string[]): boolean {
    const events = readOptional(join(this.dir(segments), "cgroup.events"));
    return events !== undefined && /^frozen 1$/m.test(events);
  }

  /** cgroup.freeze is a core file of every cgroup2 hierarchy (Linux 5.2+). */
  canFreeze(): boolean {
    return true;
  }

  /** Whether cgroup.kill exists (Linux 5.14+). */
  canKill(segments: string[]): boolean {
    return existsSync(join(this.dir(segments), "cgroup.kill"));
  }

  /** SIGKILLs every process in the subtree at once, race-free against forks. */
  killAll(segments: string[]): void {
    writeCgroupFile(join(this.dir(segments), "cgroup.kill"), "1");
  }

  /** Every pid in the subtree. */
  subtreeProcs(segments: string[]): number[] {
    return subtreeDeepestFirst(this.dir(segments)).flatMap((d) => readPids(join(d, "cgroup.procs")));
  }

  remove(segments: string[], timeoutMs?: number): Promise<void> {
    return removeCgroupTree(this.dir(segments), timeoutMs);
  }
}

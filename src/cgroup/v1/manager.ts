// The cgroup v1 manager: one directory per cgroup in each controller's hierarchy. Co-mounted
// controllers ("cpu,cpuacct") share a hierarchy and so a directory; each is visited once.
import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { TimeoutError, UnsupportedError } from "../../sys/errors";
import { readPids } from "../cgroupfs";
import type { AnyController, StatsPart } from "../controller";
import { applyEach, normalizeEach, readEach, statsEach } from "../controllers";
import type { NormalizedLimits } from "../spec";
import { cgroupDir, makeCgroupPath, removeCgroupTree, subtreeDeepestFirst, waitFor } from "../tree";
import { blkioV1 } from "./blkio";
import { cpuV1 } from "./cpu";
import { cpuacctV1 } from "./cpuacct";
import { cpusetV1 } from "./cpuset";
import { devicesV1 } from "./devices";
import { freezerState, freezerV1, setFreezerState } from "./freezer";
import { memoryV1 } from "./memory";
import { pidsV1 } from "./pids";

/** Every v1 controller hostform manages, in the order limits are applied. A new controller is one line here. */
export const V1_CONTROLLERS = [cpusetV1, cpuV1, cpuacctV1, memoryV1, pidsV1, blkioV1, devicesV1, freezerV1] as const;

/** Hierarchies preferred for listing processes: any would do, these always exist when mounted. */
const PROCS_ORDER = ["freezer", "pids", "memory", "cpu", "cpuacct", "cpuset", "blkio", "devices"];

/** A controller this host mounts, with its hierarchy's mount point. */
interface Mounted {
  controller: AnyController;
  mount: string;
}

/** Manages hostform's cgroups across the v1 hierarchies of `mounts` (controller -> mount point). */
export class V1Manager {
  private readonly mounted: readonly Mounted[];

  constructor(readonly mounts: Record<string, string>) {
    this.mounted = V1_CONTROLLERS.flatMap((c) => {
      const mount = mounts[c.name];
      return mount === undefined ? [] : [{ controller: c as AnyController, mount }];
    });
  }

  /** The controllers this host mounts. */
  get controllers(): readonly AnyController[] {
    return this.mounted.map((m) => m.controller);
  }

  /** controller -> directory of the cgroup in that controller's hierarchy. */
  dirs(segments: string[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const { controller, mount } of this.mounted) out[controller.name] = cgroupDir(mount, segments);
    return out;
  }

  /** Distinct directories (co-mounted controllers share one). */
  private uniqueDirs(segments: string[]): string[] {
    return [...new Set(Object.values(this.dirs(segments)))];
  }

  normalize(limits: NormalizedLimits, prefix: string): NormalizedLimits {
    return normalizeEach(this.controllers, limits, prefix);
  }

  /** Creates the cgroup in every hierarchy, preparing each level (cpuset copies). Returns what it created. */
  ensure(segments: string[]): string[] {
    const created: string[] = [];
    const seen = new Set<string>();
    for (const { controller, mount } of this.mounted) {
      // Co-mounted controllers: the directory is made once, but each controller still prepares it.
      if (!seen.has(mount)) created.push(...makeCgroupPath(mount, segments));
      seen.add(mount);
      const prepare = controller.prepare?.bind(controller);
      if (prepare !== undefined) makeCgroupPath(mount, segments, prepare);
    }
    return created;
  }

  private dirOf(segments: string[]): (c: AnyController) => string {
    const dirs = this.dirs(segments);
    return (c) => dirs[c.name] ?? "";
  }

  apply(segments: string[], limits: NormalizedLimits): void {
    applyEach(this.controllers, this.dirOf(segments), limits);
  }

  /**
   * Live limits of the hierarchies that hold the cgroup. One it was removed from out of band (a
   * partial loss) reports nothing, so callers see its limits as unset; missing() names it.
   */
  read(segments: string[]): NormalizedLimits {
    const dirOf = this.dirOf(segments);
    return readEach(this.present(dirOf), dirOf);
  }

  stats(segments: string[]): StatsPart[] {
    const dirOf = this.dirOf(segments);
    return statsEach(this.present(dirOf), dirOf);
  }

  exists(segments: string[]): boolean {
    return this.uniqueDirs(segments).some((d) => existsSync(d));
  }

  /** Hierarchies (by their mount's name, "pids", "cpu,cpuacct") in which the cgroup has no directory. */
  missing(segments: string[]): string[] {
    const mounts = [...new Set(this.mounted.map((m) => m.mount))];
    return mounts.filter((m) => !existsSync(cgroupDir(m, segments))).map((m) => basename(m));
  }

  /** The controllers whose directory (per dirOf) exists. */
  private present(dirOf: (c: AnyController) => string): AnyController[] {
    return this.controllers.filter((c) => existsSync(dirOf(c)));
  }

  private procsDir(segments: string[]): string | undefined {
    const dirs = this.dirs(segments);
    const name = PROCS_ORDER.find((n) => dirs[n] !== undefined);
    return name === undefined ? undefined : dirs[name];
  }

  procs(segments: string[]): number[] {
    const dir = this.procsDir(segments);
    return dir === undefined ? [] : readPids(join(dir, "cgroup.procs"));
  }

  subtreeProcs(segments: string[]): number[] {
    const dir = this.procsDir(segments);
    return dir === undefined ? [] : subtreeDeepestFirst(dir).flatMap((d) => readPids(join(d, "cgroup.procs")));
  }

  /** Whether any process lives in the cgroup or below it (v1 has no populated event: the list says). */
  populated(segments: string[]): boolean {
    return this.subtreeProcs(segments).length > 0;
  }

  canFreeze(): boolean {
    return this.mounts.freezer !== undefined;
  }

  /** Freezes (or thaws) through freezer.state and waits for FROZEN (or THAWED). */
  async setFrozen(segments: string[], frozen: boolean, timeoutMs = 5000): Promise<void> {
    const dir = this.dirs(segments).freezer;
    if (dir === undefined) throw new UnsupportedError(`${frozen ? "freeze" : "thaw"}: no v1 freezer hierarchy is mounted`);
    setFreezerState(dir, frozen);
    const want = frozen ? "FROZEN" : "THAWED";
    // FREEZING may linger while a task sits in an uninterruptible sleep; re-writing FROZEN retries.
    const ok = await waitFor(() => {
      const s = freezerState(dir);
      if (s === "FREEZING") setFreezerState(dir, frozen);
      return s === want;
    }, timeoutMs);
    if (!ok) throw new TimeoutError(`${frozen ? "freeze" : "thaw"} ${dir}`, timeoutMs, `${join(dir, "freezer.state")} never read ${want}`);
  }

  /** Whether freezer.state reads FROZEN (false without a freezer hierarchy or the directory). */
  isFrozen(segments: string[]): boolean {
    const dir = this.dirs(segments).freezer;
    return dir !== undefined && existsSync(dir) && freezerState(dir) === "FROZEN";
  }

  async remove(segments: string[], timeoutMs?: number): Promise<void> {
    for (const d of this.uniqueDirs(segments)) await removeCgroupTree(d, timeoutMs);
  }
}

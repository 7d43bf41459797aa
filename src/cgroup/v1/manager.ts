// The cgroup v1 manager: one directory per cgroup in each controller's hierarchy. Co-mounted
// controllers ("cpu,cpuacct") share a hierarchy and so a directory; each is visited once.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { TimeoutError, UnsupportedError } from "../../sys/errors";
import { readPids } from "../cgroupfs";
import type { Controller, StatsPart } from "../controller";
import type { NormalizedLimits } from "../spec";
import { cgroupDir, makeCgroupPath, removeCgroupTree, subtreeDeepestFirst, waitFor } from "../tree";
import { blkioV1 } from "./blkio";
import { cpuV1 } from "./cpu";
import { cpuacctV1 } from "./cpuacct";
import { cpusetV1 } from "./cpuset";
import { freezerState, freezerV1, setFreezerState } from "./freezer";
import { memoryV1 } from "./memory";
import { pidsV1 } from "./pids";

/** Every v1 controller hostform manages, in the order limits are applied. */
export const V1_CONTROLLERS: readonly Controller[] = [cpusetV1, cpuV1, cpuacctV1, memoryV1, pidsV1, blkioV1, freezerV1];

/** Hierarchies preferred for listing processes: any would do, these always exist when mounted. */
const PROCS_ORDER = ["freezer", "pids", "memory", "cpu", "cpuacct", "cpuset", "blkio"];

/** Manages hostform's cgroups across the v1 hierarchies of `mounts` (controller -> mount point). */
export class V1Manager {
  readonly controllers: readonly Controller[];

  constructor(readonly mounts: Record<string, string>) {
    this.controllers = V1_CONTROLLERS.filter((c) => mounts[c.name] !== undefined);
  }

  /** controller -> directory of the cgroup in that controller's hierarchy. */
  dirs(segments: string[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const c of this.controllers) out[c.name] = cgroupDir(this.mounts[c.name]!, segments);
    return out;
  }

  /** Distinct directories (co-mounted controllers share one). */
  private uniqueDirs(segments: string[]): string[] {
    return [...new Set(Object.values(this.dirs(segments)))];
  }

  normalize(limits: NormalizedLimits, prefix: string): NormalizedLimits {
    return Object.assign({}, ...this.controllers.map((c) => c.normalize(limits, prefix))) as NormalizedLimits;
  }

  /** Creates the cgroup in every hierarchy, preparing each level (cpuset copies). Returns what it created. */
  ensure(segments: string[]): string[] {
    const created: string[] = [];
    const seen = new Set<string>();
    for (const c of this.controllers) {
      const mount = this.mounts[c.name]!;
      // Co-mounted controllers: the directory is made once, but each controller still prepares it.
      if (!seen.has(mount)) created.push(...makeCgroupPath(mount, segments));
      seen.add(mount);
      if (c.prepare !== undefined) makeCgroupPath(mount, segments, (dir, parent) => c.prepare!(dir, parent));
    }
    return created;
  }

  apply(segments: string[], limits: NormalizedLimits): void {
    const dirs = this.dirs(segments);
    for (const c of this.controllers) c.apply(dirs[c.name]!, limits);
  }

  read(segments: string[]): NormalizedLimits {
    const dirs = this.dirs(segments);
    return Object.assign({}, ...this.controllers.map((c) => c.read(dirs[c.name]!))) as NormalizedLimits;
  }

  stats(segments: string[]): StatsPart[] {
    const dirs = this.dirs(segments);
    return this.controllers.map((c) => c.stats(dirs[c.name]!));
  }

  exists(segments: string[]): boolean {
    return this.uniqueDirs(segments).some((d) => existsSync(d));
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

  hasFreezer(): boolean {
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

  async remove(segments: string[], timeoutMs?: number): Promise<void> {
    for (const d of this.uniqueDirs(segments)) await removeCgroupTree(d, timeoutMs);
  }
}

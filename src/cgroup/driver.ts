// One driver over whichever cgroup layout the host has. Limits go, per controller group, to the v1
// hierarchy that holds that controller, else to the cgroup2 hierarchy if it offers it. The process-level
// operations (procs, freeze, kill, populated) use cgroup2's core files whenever a cgroup2 hierarchy is
// mounted.
//
// Hybrid hosts: the limits live in the v1 hierarchies, and the cgroup is ALSO created in the unified
// cgroup2 hierarchy, as systemd does for its units there. cgroup2's core files need no controller, so
// that copy gives exact "populated" events, race-free cgroup.kill and cgroup.freeze, which v1 cannot
// offer (v1's freezer works, but killing through it races against forks less well).
import { existsSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { NotFoundError, TimeoutError, UnsupportedError, ValidationError, hasCode, withContext as addContext } from "../sys/errors";
import type { Owner } from "../sys/owner";
import { CGROUP_PARENT } from "../sys/paths";
import { signalNumber } from "../sys/signals";
import { readPids } from "./cgroupfs";
import { fieldName } from "./fields";
import { moveIntoCgroups } from "./membership";
import { readOwnerRecord, writeOwnerRecord } from "./ownerRecord";
import type { AnyController, CgroupStats, StatsPart } from "./controller";
import { detectLayout, type CgroupLayout } from "./layout";
import { LIMIT_GROUPS, validateLimits, type CgroupLimits, type LimitGroupName, type NormalizedLimits } from "./spec";
import { cgroupSegments, waitFor } from "./tree";
import { V1Manager } from "./v1/manager";
import { V2Manager, V2_CONTROLLERS } from "./v2/manager";

/** Paths of one cgroup: its cgroup2 directory (v2 and hybrid hosts) and its v1 directories by controller. */
export interface CgroupPaths {
  v2?: string;
  v1: Record<string, string>;
}

/** Options for CgroupDriver.delete. */
export interface DeleteOptions {
  /** How long to wait for the cgroup to empty and for EBUSY to clear (default 5000 ms). */
  timeoutMs?: number;
}

/** Everything hostform does to cgroups, the same on v2, v1 and hybrid hosts. Names are relative to
 *  the driver's parent ("web", or nested "pod/web") in every hierarchy: hostform's own parent by
 *  default, or the hierarchies' roots for the OCI runtime's absolute linux.cgroupsPath. */
export interface CgroupDriver {
  readonly layout: CgroupLayout;
  /** The parent every name is under, e.g. "hostform"; "" for the hierarchies' roots. */
  readonly parent: string;
  /** Which hierarchy holds each limit group on this host; absent groups cannot be enforced here. */
  readonly routes: Partial<Record<LimitGroupName, "v1" | "v2">>;
  /**
   * Validates declared limits and converts them to what this host stores (pages, shares or weight,
   * blkio or io scale). Compare the result with read() through diffLimits. Throws ValidationError or
   * UnsupportedError naming the field.
   */
  normalize(limits: CgroupLimits | undefined, fieldPrefix?: string): NormalizedLimits;
  /** Creates the cgroup (idempotent) and applies limits. Validation happens first; on failure
   *  everything it created is removed again. */
  create(name: string, limits?: CgroupLimits): void;
  /** Updates limits in place; only the given fields are written (pass "max" to lift a limit). */
  apply(name: string, limits: CgroupLimits): void;
  /** Live limits, normalized (see normalize). */
  read(name: string): NormalizedLimits;
  /** Usage counters. */
  stats(name: string): CgroupStats;
  exists(name: string): boolean;
  /**
   * Hierarchies the cgroup was removed from out of band while others still hold it (v1 and hybrid
   * hosts keep one directory per hierarchy), by their mount's name; [] when whole or gone.
   */
  missingHierarchies(name: string): string[];
  /** Moves a process into the cgroup (every hierarchy at once, off the event loop). On v2, put processes
   *  in leaves: a cgroup whose children have controllers enabled cannot hold processes itself (EBUSY). */
  addProcess(name: string, pid: number): Promise<void>;
  /** Whether pid lives directly in the cgroup in every hierarchy that holds it. */
  contains(name: string, pid: number): boolean;
  /** Processes directly in the cgroup. */
  procs(name: string): number[];
  /** Whether any process lives in the cgroup or below it. */
  populated(name: string): boolean;
  freeze(name: string): Promise<void>;
  /** Whether the cgroup is frozen (by freeze(), or by anyone through the same files). */
  isFrozen(name: string): boolean;
  thaw(name: string): Promise<void>;
  /** Signals every process in the cgroup and below (default SIGKILL, which also waits for them to die). */
  kill(name: string, signal?: NodeJS.Signals | number): Promise<void>;
  /** Waits for the cgroup to empty, then removes it and its children, deepest first. Gone is success. */
  delete(name: string, options?: DeleteOptions): Promise<void>;
  paths(name: string): CgroupPaths;
  /** The owner recorded on the cgroup (see ownerRecord.ts); undefined when it has none or does not exist. */
  owner(name: string): Owner | undefined;
  /** Records the cgroup's owner in every hierarchy it exists in. */
  setOwner(name: string, owner: Owner): void;
}

/** Re-raises a failure with the operation and cgroup it concerned. */
function withContext<T>(context: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw addContext(err, context);
  }
}

function mergeStats(parts: StatsPart[]): CgroupStats {
  const out: Record<string, Record<string, unknown>> = {};
  for (const p of parts) {
    for (const [group, value] of Object.entries(p)) out[group] = { ...(out[group] ?? {}), ...(value as object) };
  }
  return out as CgroupStats;
}

class Driver implements CgroupDriver {
  readonly routes: Partial<Record<LimitGroupName, "v1" | "v2">> = {};
  private readonly v1?: V1Manager;
  private readonly v2?: V2Manager;
  /** Where processes are listed, frozen and watched: cgroup2's core files when it is mounted, else v1's. */
  private readonly core: V2Manager | V1Manager;

  private readonly parentSegments: string[];

  constructor(
    readonly layout: CgroupLayout,
    readonly parent: string,
  ) {
    this.parentSegments = parent === "" ? [] : cgroupSegments(parent, "parent");
    const v1 = layout.mode === "v2" ? undefined : new V1Manager(layout.v1Mounts);
    const v1Groups = new Set(v1?.controllers.map((c) => c.limits?.name));
    // A group goes to v2 only where no v1 hierarchy holds it (hybrid hosts keep their limits in v1).
    const offered = (c: AnyController): boolean => (c.builtIn === true && layout.unifiedMount !== undefined) || layout.v2Controllers.includes(c.name);
    const v2Owned: AnyController[] = V2_CONTROLLERS.filter((c) => offered(c) && !v1Groups.has(c.limits.name));
    if (v1 !== undefined) this.v1 = v1;
    if (layout.unifiedMount !== undefined) this.v2 = new V2Manager(layout.unifiedMount, v2Owned);
    const core = this.v2 ?? this.v1;
    if (core === undefined) throw new UnsupportedError("no cgroup hierarchy is mounted");
    this.core = core;
    for (const g of LIMIT_GROUPS) {
      if (v1Groups.has(g)) this.routes[g] = "v1";
      else if (v2Owned.some((c) => c.limits?.name === g)) this.routes[g] = "v2";
    }
  }

  /** The cgroup's path below each hierarchy's mount: the parent's segments, then the name's. */
  private segments(name: string): string[] {
    return [...this.parentSegments, ...cgroupSegments(name)];
  }

  /** How a cgroup is named in errors: as under the hierarchies' roots. */
  private fullName(name: string): string {
    return this.parent === "" ? name : `${this.parent}/${name}`;
  }

  normalize(limits: CgroupLimits | undefined, fieldPrefix = ""): NormalizedLimits {
    const valid = validateLimits(limits ?? {}, fieldPrefix);

    for (const g of LIMIT_GROUPS) {
      if (valid[g] !== undefined && this.routes[g] === undefined) {
        const hosts = g === "io" ? "io (v2) or blkio (v1)" : g;
        throw new UnsupportedError(`${fieldName(fieldPrefix, g)}: this host has no ${hosts} controller (cgroup ${this.layout.mode}); remove the ${g} limits or use a host that has it`);
      }
    }
    return { ...(this.v1?.normalize(valid, fieldPrefix) ?? {}), ...(this.v2?.normalize(valid, fieldPrefix) ?? {}) };
  }

  create(name: string, limits?: CgroupLimits): void {
    const segs = this.segments(name);
    const want = this.normalize(limits, "limits");
    const created: string[] = [];
    try {
      withContext(`create cgroup ${name}`, () => {
        if (this.v1 !== undefined) created.push(...this.v1.ensure(segs));
        if (this.v2 !== undefined) created.push(...this.v2.ensure(segs));
      });
      withContext(`apply limits to cgroup ${name}`, () => this.applyNormalized(segs, want));
    } catch (err) {
      // Nothing half-made: remove what this call created, innermost first.
      for (const dir of created.reverse()) {
        try {
          rmdirSync(dir);
        } catch {
          // Still in use by a concurrent create, or already gone: not ours to force.
        }
      }
      throw err;
    }
  }

  private applyNormalized(segs: string[], want: NormalizedLimits): void {
    this.v1?.apply(segs, want);
    this.v2?.apply(segs, want);
  }

  apply(name: string, limits: CgroupLimits): void {
    const segs = this.segments(name);
    const want = this.normalize(limits, "limits");
    if (!this.exists(name)) throw new NotFoundError("cgroup", this.fullName(name), "create it first");
    withContext(`apply limits to cgroup ${name}`, () => this.applyNormalized(segs, want));
  }

  read(name: string): NormalizedLimits {
    const segs = this.segments(name);
    return withContext(`read cgroup ${name}`, () => ({ ...(this.v1?.read(segs) ?? {}), ...(this.v2?.read(segs) ?? {}) }));
  }

  stats(name: string): CgroupStats {
    const segs = this.segments(name);
    return withContext(`read stats of cgroup ${name}`, () => mergeStats([...(this.v1?.stats(segs) ?? []), ...(this.v2?.stats(segs) ?? [])]));
  }

  exists(name: string): boolean {
    const segs = this.segments(name);
    return (this.v2?.exists(segs) ?? false) || (this.v1?.exists(segs) ?? false);
  }

  missingHierarchies(name: string): string[] {
    const segs = this.segments(name);
    const missing = [...(this.v1?.missing(segs) ?? []), ...(this.v2?.missing(segs) ?? [])];
    const total = new Set(this.allDirs(segs)).size;
    // Gone from every hierarchy is a missing cgroup (exists() says so), not a partial one.
    return missing.length === total ? [] : missing;
  }

  async addProcess(name: string, pid: number): Promise<void> {
    if (!Number.isInteger(pid) || pid <= 0) throw new ValidationError("pid", `${pid} is not a process id`);
    try {
      await moveIntoCgroups(this.allDirs(this.segments(name)), pid);
    } catch (err) {
      throw addContext(err, `add process ${pid} to cgroup ${name}`);
    }
  }

  contains(name: string, pid: number): boolean {
    const dirs = this.allDirs(this.segments(name));
    // A hierarchy the cgroup was removed from holds nothing, the process included.
    return dirs.length > 0 && dirs.every((d) => existsSync(d) && readPids(join(d, "cgroup.procs")).includes(pid));
  }

  /** The cgroup's distinct directories in every hierarchy (co-mounted v1 controllers share one). */
  private allDirs(segs: string[]): string[] {
    return [...new Set([...Object.values(this.v1?.dirs(segs) ?? {}), ...(this.v2 !== undefined ? [this.v2.dir(segs)] : [])])];
  }

  procs(name: string): number[] {
    const segs = this.segments(name);
    return withContext(`list processes of cgroup ${name}`, () => this.core.procs(segs));
  }

  private subtreeProcs(segs: string[]): number[] {
    return this.core.subtreeProcs(segs);
  }

  populated(name: string): boolean {
    const segs = this.segments(name);
    return withContext(`read events of cgroup ${name}`, () => this.core.populated(segs));
  }

  private async setFrozen(name: string, frozen: boolean): Promise<void> {
    const segs = this.segments(name);
    const what = `${frozen ? "freeze" : "thaw"} cgroup ${name}`;
    try {
      await this.core.setFrozen(segs, frozen);
    } catch (err) {
      throw addContext(err, what);
    }
  }

  isFrozen(name: string): boolean {
    const segs = this.segments(name);
    return withContext(`read freezer state of cgroup ${name}`, () => this.core.isFrozen(segs));
  }

  freeze(name: string): Promise<void> {
    return this.setFrozen(name, true);
  }

  thaw(name: string): Promise<void> {
    return this.setFrozen(name, false);
  }

  async kill(name: string, signal: NodeJS.Signals | number = "SIGKILL"): Promise<void> {
    const segs = this.segments(name);
    const sigkill = signal === "SIGKILL" || signal === signalNumber("SIGKILL");
    const what = `kill cgroup ${name}`;
    if (!this.exists(name)) return;
    try {
      if (sigkill && this.v2 !== undefined && this.v2.canKill(segs)) {
        this.v2.killAll(segs);
      } else {
        // Without cgroup.kill: freeze so nothing forks past the list, signal each pid, thaw so the
        // signals are delivered (a frozen task acts on none but SIGKILL in v2, none at all in v1).
        const canFreeze = this.core.canFreeze();
        if (canFreeze) await this.setFrozen(name, true);
        try {
          for (const pid of this.subtreeProcs(segs)) {
            try {
              process.kill(pid, signal);
            } catch (err) {
              if (!hasCode(err, "ESRCH")) throw err;
            }
          }
        } finally {
          if (canFreeze) await this.setFrozen(name, false);
        }
      }
      if (sigkill && !(await waitFor(() => this.subtreeProcs(segs).length === 0, 5000))) {
        throw new TimeoutError(`SIGKILL of the processes in ${this.primaryDir(segs)}`, 5000, `processes ${this.subtreeProcs(segs).join(" ")} survive`);
      }
    } catch (err) {
      throw addContext(err, what);
    }
  }

  async delete(name: string, options: DeleteOptions = {}): Promise<void> {
    const segs = this.segments(name);
    const timeoutMs = options.timeoutMs ?? 5000;
    const what = `delete cgroup ${name}`;
    const empty = await waitFor(() => withContext(what, () => this.subtreeProcs(segs)).length === 0, timeoutMs);
    if (!empty) {
      throw new TimeoutError(what, timeoutMs, `processes ${this.subtreeProcs(segs).join(" ")} still live in ${this.primaryDir(segs)} (kill them first)`);
    }
    try {
      await this.v2?.remove(segs, timeoutMs);
      await this.v1?.remove(segs, timeoutMs);
    } catch (err) {
      throw addContext(err, what);
    }
  }

  private primaryDir(segs: string[]): string {
    return this.v2?.dir(segs) ?? Object.values(this.v1?.dirs(segs) ?? {})[0] ?? segs.join("/");
  }

  owner(name: string): Owner | undefined {
    const dirs = this.allDirs(this.segments(name)).filter((d) => existsSync(d));
    return withContext(`read owner of cgroup ${name}`, () => readOwnerRecord(dirs));
  }

  setOwner(name: string, owner: Owner): void {
    const dirs = this.allDirs(this.segments(name)).filter((d) => existsSync(d));
    if (dirs.length === 0) throw new NotFoundError("cgroup", this.fullName(name), "create it first");
    withContext(`record owner of cgroup ${name}`, () => writeOwnerRecord(dirs, owner));
  }

  paths(name: string): CgroupPaths {
    const segs = this.segments(name);
    const out: CgroupPaths = { v1: this.v1?.dirs(segs) ?? {} };
    if (this.v2 !== undefined) out.v2 = this.v2.dir(segs);
    return out;
  }
}

export interface DriverOptions {
  /**
   * The cgroup every name is under, in every hierarchy: default hostform's own parent (CGROUP_PARENT);
   * "" puts names right under the hierarchies' roots (an OCI linux.cgroupsPath is absolute).
   */
  parent?: string;
}

/** Opens the driver for a layout (default: this host's, detected once). */
export function openCgroupDriver(layout: CgroupLayout = detectLayout(), options: DriverOptions = {}): CgroupDriver {
  return new Driver(layout, options.parent ?? CGROUP_PARENT);
}

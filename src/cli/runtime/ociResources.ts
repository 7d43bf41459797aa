// OCI linux.resources (config.json) to hostform's version-neutral cgroup limits. Fields hostform
// cannot apply are rejected by name rather than dropped.
import { ValidationError } from "../../sys/errors";
import type { CgroupLimits } from "../../cgroup/spec";

type Obj = Record<string, unknown>;

function obj(v: unknown, field: string): Obj | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) throw new ValidationError(field, "must be an object");
  return v as Obj;
}

function rejectOthers(o: Obj, field: string, known: string[]): void {
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) throw new ValidationError(`${field}.${k}`, "is not supported by hostform", `remove ${field}.${k}`);
  }
}

function num(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) throw new ValidationError(field, `${JSON.stringify(v)} is not a number`);
  return v;
}

/** Converts linux.resources; -1 (OCI for unlimited) becomes "max". */
export function limitsFromOciResources(input: unknown): CgroupLimits | undefined {
  const r = obj(input, "linux.resources");
  if (r === undefined) return undefined;
  // "devices" is runc's device cgroup allow-list; hostform creates no device nodes beyond the defaults, so an allow-list that only denies is harmless.
  rejectOthers(r, "linux.resources", ["memory", "cpu", "pids", "devices", "blockIO"]);
  const out: CgroupLimits = {};
  const lim = (v: number | undefined) => (v === -1 ? "max" : v);
  const m = obj(r.memory, "linux.resources.memory");
  if (m !== undefined) {
    rejectOthers(m, "linux.resources.memory", ["limit", "reservation", "swap", "disableOOMKiller", "swappiness"]);
    const limit = lim(num(m.limit, "linux.resources.memory.limit"));
    const reservation = lim(num(m.reservation, "linux.resources.memory.reservation"));
    const swap = lim(num(m.swap, "linux.resources.memory.swap"));
    out.memory = {};
    if (limit !== undefined) out.memory.max = limit;
    if (reservation !== undefined) out.memory.low = reservation;
    // OCI swap is memory+swap (v1 memsw); hostform's swapMax is swap on top of memory.
    if (swap !== undefined) out.memory.swapMax = swap === "max" || typeof limit !== "number" ? "max" : Math.max(0, swap - limit);
  }
  const c = obj(r.cpu, "linux.resources.cpu");
  if (c !== undefined) {
    rejectOthers(c, "linux.resources.cpu", ["shares", "quota", "period", "cpus", "mems"]);
    out.cpu = {};
    const shares = num(c.shares, "linux.resources.cpu.shares");
    const quota = lim(num(c.quota, "linux.resources.cpu.quota"));
    const period = num(c.period, "linux.resources.cpu.period");
    if (shares !== undefined) out.cpu.shares = shares;
    if (quota !== undefined) out.cpu.quota = quota;
    if (period !== undefined) out.cpu.period = period;
    if (c.cpus !== undefined || c.mems !== undefined) {
      out.cpuset = {};
      if (typeof c.cpus === "string" && c.cpus !== "") out.cpuset.cpus = c.cpus;
      if (typeof c.mems === "string" && c.mems !== "") out.cpuset.mems = c.mems;
    }
  }
  const p = obj(r.pids, "linux.resources.pids");
  if (p !== undefined) {
    rejectOthers(p, "linux.resources.pids", ["limit"]);
    const l = num(p.limit, "linux.resources.pids.limit");
    if (l !== undefined) out.pids = { max: l <= 0 ? "max" : l };
  }
  const b = obj(r.blockIO, "linux.resources.blockIO");
  if (b !== undefined) {
    rejectOthers(b, "linux.resources.blockIO", ["weight"]);
    const w = num(b.weight, "linux.resources.blockIO.weight");
    if (w !== undefined) out.io = { blkioWeight: w };
  }
  return out;
}

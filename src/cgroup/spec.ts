// The version-neutral limits a user declares, their validation, and the standard conversions between
// the v1 and v2 scales. Versions differ in what the kernel stores; the controllers turn these values
// into that form (see each controller's normalize).
import { closeSync, openSync, readSync } from "node:fs";
import { ValidationError } from "../sys/errors";
import { type Max, type SizeInput, describe, parseCpu, parseIntIn, parsePeriod, parseQuota, parseSize, DEFAULT_CPU_PERIOD } from "./units";

/** A per-device I/O throttle as declared. Absent or "max" means unlimited for that direction. */
export interface IoDeviceInput {
  major: number;
  minor: number;
  readBps?: SizeInput;
  writeBps?: SizeInput;
  readIops?: number | Max;
  writeIops?: number | Max;
}

/** Cgroup limits as a user declares them; every field is optional. */
export interface CgroupLimits {
  memory?: {
    /** Hard limit (v2 memory.max, v1 memory.limit_in_bytes). */
    max?: SizeInput;
    /** Throttling threshold (v2 memory.high; v1 has no equivalent). */
    high?: SizeInput;
    /** Best-effort protection (v2 memory.low, v1 memory.soft_limit_in_bytes). */
    low?: SizeInput;
    /** Swap on top of memory (v2 memory.swap.max; v1 memory.memsw.limit_in_bytes = max + swapMax). */
    swapMax?: SizeInput;
  };
  cpu?: {
    /** Relative weight 1..10000 (v2 scale). Give weight or shares, not both. */
    weight?: number;
    /** Relative shares 2..262144 (v1 scale). */
    shares?: number;
    /** CFS quota in microseconds per period, or "max". Give quota/period or cores, not both. */
    quota?: number | Max;
    /** CFS period in microseconds (default 100000). */
    period?: number;
    /** Cores: 0.5, "0.5", "500m", "max" or { quota, period }. */
    cores?: number | string | { quota?: number | Max; period?: number };
  };
  cpuset?: { cpus?: string; mems?: string };
  pids?: { max?: number | Max };
  io?: {
    /** Relative weight 1..10000 (v2 io.weight scale). Give weight or blkioWeight, not both. */
    weight?: number;
    /** Relative weight 10..1000 (v1 blkio.weight scale). */
    blkioWeight?: number;
    devices?: IoDeviceInput[];
  };
}

/** A per-device throttle in bytes or operations per second; an absent field is unlimited. */
export interface IoDeviceLimit {
  major: number;
  minor: number;
  readBps?: number;
  writeBps?: number;
  readIops?: number;
  writeIops?: number;
}

/**
 * Limits in the kernel's own terms: bytes rounded to pages, "max" for unlimited, cpu as quota/period,
 * cpu lists in canonical ranges, devices sorted. Produced by validateLimits and a driver's normalize
 * (which also converts weight/shares to the scale its version stores) and by a driver's read, so the
 * two compare with diffLimits.
 */
export interface NormalizedLimits {
  memory?: { max?: number | Max; high?: number | Max; low?: number | Max; swapMax?: number | Max };
  cpu?: { weight?: number; shares?: number; quota?: number | Max; period?: number };
  cpuset?: { cpus?: string; mems?: string };
  pids?: { max?: number | Max };
  io?: { weight?: number; blkioWeight?: number; devices?: IoDeviceLimit[] };
}

/** Controller groups a limits object can name. */
export const LIMIT_GROUPS = ["memory", "cpu", "cpuset", "pids", "io"] as const;
export type LimitGroup = (typeof LIMIT_GROUPS)[number];

let pageSize: number | undefined;

/** The kernel page size; memory limits are stored in whole pages (page_counter). */
export function kernelPageSize(): number {
  if (pageSize !== undefined) return pageSize;
  pageSize = 4096;
  try {
    // The first mapping's entry is enough, and reading all of smaps costs a Node process ~0.5 s.
    const buf = Buffer.alloc(4096);
    const fd = openSync("/proc/self/smaps", "r");
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } finally {
      closeSync(fd);
    }
    const m = /KernelPageSize:\s+(\d+) kB/.exec(buf.toString("utf8", 0, n));
    if (m !== null) pageSize = Number(m[1]) * 1024;
  } catch {
    // /proc/self/smaps missing (unusual /proc): 4 KiB is the page size of every common Linux build.
  }
  return pageSize;
}

/** Rounds a byte count down to whole pages, as the kernel does when it stores a memory limit. */
export function roundToPage(bytes: number | Max): number | Max {
  if (bytes === "max") return "max";
  const p = kernelPageSize();
  return Math.floor(bytes / p) * p;
}

/** runc/crun/systemd conversion from v1 cpu.shares (2..262144) to v2 cpu.weight (1..10000). */
export function cpuSharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** Inverse of cpuSharesToWeight (as crun writes it), used to express a weight on v1. */
export function cpuWeightToShares(weight: number): number {
  return 2 + Math.floor(((weight - 1) * 262142) / 9999);
}

/** runc's conversion from v1 blkio.weight (10..1000) to v2 io.weight (1..10000). */
export function blkioWeightToIoWeight(weight: number): number {
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/** Inverse of blkioWeightToIoWeight, used to express an io weight on v1. */
export function ioWeightToBlkioWeight(weight: number): number {
  return 10 + Math.floor(((weight - 1) * 990) / 9999);
}

/** Parses a cpu/mem list ("0-3,5") into its canonical spelling ("0-3,5"), as the kernel prints it. */
export function normalizeCpuList(value: unknown, field: string): string {
  const hint = 'write ids and ranges such as "0", "0-3" or "0,2-3"';
  if (typeof value !== "string" || value.trim() === "") throw new ValidationError(field, `expected a list of ids, got ${describe(value)}`, hint);
  const ids = new Set<number>();
  for (const part of value.split(",")) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (m === null) throw new ValidationError(field, `"${part.trim()}" is not an id or a range`, hint);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new ValidationError(field, `range "${part.trim()}" ends before it starts`, hint);
    if (hi > 65535) throw new ValidationError(field, `${hi} is beyond any real id`, hint);
    for (let i = lo; i <= hi; i++) ids.add(i);
  }
  return formatIdList([...ids]);
}

/** Formats ids as kernel-style ranges. */
export function formatIdList(ids: number[]): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

function checkKeys(obj: unknown, field: string, allowed: readonly string[], what: string): Record<string, unknown> {
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) throw new ValidationError(field === "" ? "limits" : field, `expected an object, got ${describe(obj)}`);
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw new ValidationError(join(field, key), `unknown ${what} "${key}"`, `known: ${allowed.join(", ")}`);
    }
  }
  return obj as Record<string, unknown>;
}

function join(prefix: string, key: string): string {
  return prefix === "" ? key : `${prefix}.${key}`;
}

function parseOpsLimit(value: unknown, field: string): number | undefined {
  if (value === undefined || value === "max") return undefined;
  return parseIntIn(value, field, 1, Number.MAX_SAFE_INTEGER, 'operations per second, or "max"');
}

function parseRateLimit(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  const v = parseSize(value, field, { allowMax: true });
  if (v === "max") return undefined;
  if (v === 0) throw new ValidationError(field, "0 bytes per second would stop all I/O", 'use "max" to remove the limit');
  return v;
}

/**
 * Validates declared limits and resolves them into kernel terms (sizes in bytes rounded to pages,
 * cores into quota/period, canonical cpu lists, sorted devices). Every error is a ValidationError
 * naming the field under fieldPrefix (e.g. "limits.memory.max"). Unknown controllers and limits are
 * errors, never ignored.
 */
export function validateLimits(input: unknown, fieldPrefix = ""): NormalizedLimits {
  const top = checkKeys(input ?? {}, fieldPrefix, LIMIT_GROUPS, "controller");
  const out: NormalizedLimits = {};

  if (top.memory !== undefined) {
    const f = join(fieldPrefix, "memory");
    const m = checkKeys(top.memory, f, ["max", "high", "low", "swapMax"], "memory limit");
    const mem: NonNullable<NormalizedLimits["memory"]> = {};
    for (const key of ["max", "high", "low", "swapMax"] as const) {
      if (m[key] !== undefined) mem[key] = roundToPage(parseSize(m[key], join(f, key), { allowMax: true }));
    }
    out.memory = mem;
  }

  if (top.cpu !== undefined) {
    const f = join(fieldPrefix, "cpu");
    const c = checkKeys(top.cpu, f, ["weight", "shares", "quota", "period", "cores"], "cpu limit");
    const cpu: NonNullable<NormalizedLimits["cpu"]> = {};
    if (c.weight !== undefined && c.shares !== undefined) throw new ValidationError(join(f, "shares"), "weight and shares both given", "give one: weight (1..10000) or shares (2..262144)");
    if (c.weight !== undefined) cpu.weight = parseIntIn(c.weight, join(f, "weight"), 1, 10000, "cpu.weight is 1..10000 (default 100)");
    if (c.shares !== undefined) cpu.shares = parseIntIn(c.shares, join(f, "shares"), 2, 262144, "cpu.shares is 2..262144 (default 1024)");
    if (c.cores !== undefined) {
      if (c.quota !== undefined || c.period !== undefined) throw new ValidationError(join(f, "cores"), "cores and quota/period both given", "give cores, or quota with an optional period");
      const bw = parseCpu(c.cores, join(f, "cores"));
      cpu.quota = bw.quota;
      cpu.period = bw.period;
    } else {
      if (c.quota !== undefined) cpu.quota = parseQuota(c.quota, join(f, "quota"));
      if (c.period !== undefined) cpu.period = parsePeriod(c.period, join(f, "period"));
      // The kernel keeps quota and period together; a quota alone means the default period.
      if (cpu.quota !== undefined && cpu.period === undefined) cpu.period = DEFAULT_CPU_PERIOD;
    }
    out.cpu = cpu;
  }

  if (top.cpuset !== undefined) {
    const f = join(fieldPrefix, "cpuset");
    const c = checkKeys(top.cpuset, f, ["cpus", "mems"], "cpuset limit");
    const cs: NonNullable<NormalizedLimits["cpuset"]> = {};
    if (c.cpus !== undefined) cs.cpus = normalizeCpuList(c.cpus, join(f, "cpus"));
    if (c.mems !== undefined) cs.mems = normalizeCpuList(c.mems, join(f, "mems"));
    out.cpuset = cs;
  }

  if (top.pids !== undefined) {
    const f = join(fieldPrefix, "pids");
    const p = checkKeys(top.pids, f, ["max"], "pids limit");
    const pids: NonNullable<NormalizedLimits["pids"]> = {};
    if (p.max !== undefined) {
      // 0 is a real limit (no new task may join); "max" (or -1, as OCI writes it) means none.
      pids.max = p.max === "max" || p.max === -1 ? "max" : parseIntIn(p.max, join(f, "max"), 0, 4194304, 'a task count, or "max"');
    }
    out.pids = pids;
  }

  if (top.io !== undefined) {
    const f = join(fieldPrefix, "io");
    const i = checkKeys(top.io, f, ["weight", "blkioWeight", "devices"], "io limit");
    const io: NonNullable<NormalizedLimits["io"]> = {};
    if (i.weight !== undefined && i.blkioWeight !== undefined) throw new ValidationError(join(f, "blkioWeight"), "weight and blkioWeight both given", "give one: weight (1..10000) or blkioWeight (10..1000)");
    if (i.weight !== undefined) io.weight = parseIntIn(i.weight, join(f, "weight"), 1, 10000, "io.weight is 1..10000 (default 100)");
    if (i.blkioWeight !== undefined) io.blkioWeight = parseIntIn(i.blkioWeight, join(f, "blkioWeight"), 10, 1000, "blkio.weight is 10..1000 (default 500)");
    if (i.devices !== undefined) {
      if (!Array.isArray(i.devices)) throw new ValidationError(join(f, "devices"), `expected a list, got ${describe(i.devices)}`);
      const seen = new Set<string>();
      io.devices = i.devices.map((d: unknown, n: number) => {
        const df = `${join(f, "devices")}[${n}]`;
        const dev = checkKeys(d, df, ["major", "minor", "readBps", "writeBps", "readIops", "writeIops"], "device field");
        const major = parseIntIn(dev.major, `${df}.major`, 0, 4095, "see /sys/class/block/<dev>/dev for MAJ:MIN");
        const minor = parseIntIn(dev.minor, `${df}.minor`, 0, 1048575, "see /sys/class/block/<dev>/dev for MAJ:MIN");
        if (seen.has(`${major}:${minor}`)) throw new ValidationError(df, `device ${major}:${minor} is listed twice`, "merge its limits into one entry");
        seen.add(`${major}:${minor}`);
        const lim: IoDeviceLimit = { major, minor };
        const rb = parseRateLimit(dev.readBps, `${df}.readBps`);
        const wb = parseRateLimit(dev.writeBps, `${df}.writeBps`);
        const ri = parseOpsLimit(dev.readIops, `${df}.readIops`);
        const wi = parseOpsLimit(dev.writeIops, `${df}.writeIops`);
        if (rb !== undefined) lim.readBps = rb;
        if (wb !== undefined) lim.writeBps = wb;
        if (ri !== undefined) lim.readIops = ri;
        if (wi !== undefined) lim.writeIops = wi;
        return lim;
      });
      io.devices = sortDevices(io.devices.filter(hasDeviceLimit));
    }
    out.io = io;
  }
  return out;
}

/** True when a device entry limits anything (an entry of only "max" values is no limit at all). */
export function hasDeviceLimit(d: IoDeviceLimit): boolean {
  return d.readBps !== undefined || d.writeBps !== undefined || d.readIops !== undefined || d.writeIops !== undefined;
}

/** Devices in MAJ:MIN order, the order drift comparison expects. */
export function sortDevices(devs: IoDeviceLimit[]): IoDeviceLimit[] {
  return [...devs].sort((a, b) => a.major - b.major || a.minor - b.minor);
}

/** One limit whose live value differs from the declared one. */
export interface LimitDrift {
  /** Dotted field, e.g. "memory.max". */
  field: string;
  declared: unknown;
  live: unknown;
}

/**
 * Compares declared limits (normalized for the driver) with live ones read back by the same driver.
 * Only fields present in `want` are compared: an undeclared limit is not drift.
 */
export function diffLimits(want: NormalizedLimits, live: NormalizedLimits): LimitDrift[] {
  const out: LimitDrift[] = [];
  for (const group of LIMIT_GROUPS) {
    const w = want[group] as Record<string, unknown> | undefined;
    if (w === undefined) continue;
    const l = (live[group] ?? {}) as Record<string, unknown>;
    for (const [key, declared] of Object.entries(w)) {
      if (declared === undefined) continue;
      if (JSON.stringify(declared) !== JSON.stringify(l[key])) out.push({ field: `${group}.${key}`, declared, live: l[key] });
    }
  }
  return out;
}

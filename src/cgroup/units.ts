// Sizes and CPU amounts as people write them, parsed into the numbers cgroupfs takes.
import { ValidationError } from "../sys/errors";

/** "max": no limit. */
export type Max = "max";

/** A size as declared: bytes, or a string with a unit ("256Mi", "1G", "512k", "1.5Gi"), or "max". */
export type SizeInput = number | string;

const SIZE_HINT = 'write bytes or a number with a unit: k, M, G, T (powers of 1000) or Ki, Mi, Gi, Ti (powers of 1024), e.g. "256Mi"';

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
};

/**
 * Parses a size into bytes. Units follow Kubernetes quantities: k/M/G/T/P are powers of 1000 and
 * Ki/Mi/Gi/Ti/Pi powers of 1024; a fraction with a unit is rounded down to whole bytes. "max" is
 * accepted only when allowMax. Throws ValidationError naming field.
 */
export function parseSize(value: unknown, field: string, opts: { allowMax: true }): number | Max;
export function parseSize(value: unknown, field: string, opts?: { allowMax?: false }): number;
export function parseSize(value: unknown, field: string, opts: { allowMax?: boolean } = {}): number | Max {
  const allowMax = opts.allowMax === true;
  if (typeof value === "number") {
    if (!Number.isFinite(value) || !Number.isInteger(value)) throw new ValidationError(field, `${value} is not a whole number of bytes`, SIZE_HINT);
    if (value < 0) throw new ValidationError(field, `${value} is negative`, allowMax ? 'use "max" for no limit' : "sizes are 0 or more");
    if (value > Number.MAX_SAFE_INTEGER) throw new ValidationError(field, `${value} is too large`, allowMax ? 'use "max" for no limit' : SIZE_HINT);
    return value;
  }
  if (typeof value !== "string") throw new ValidationError(field, `expected a size, got ${describe(value)}`, SIZE_HINT);
  const text = value.trim();
  if (text === "") throw new ValidationError(field, "empty size", SIZE_HINT);
  if (text === "max") {
    if (allowMax) return "max";
    throw new ValidationError(field, '"max" is not allowed here', SIZE_HINT);
  }
  if (text.startsWith("-")) throw new ValidationError(field, `"${text}" is negative`, allowMax ? 'use "max" for no limit' : "sizes are 0 or more");
  const m = /^(\d+(?:\.\d+)?|\.\d+)\s*([A-Za-z]*)$/.exec(text);
  if (m === null) throw new ValidationError(field, `"${text}" is not a size`, SIZE_HINT);
  const unit = m[2] ?? "";
  const factor = UNITS[unit];
  if (factor === undefined) throw new ValidationError(field, `unknown unit "${unit}" in "${text}"`, SIZE_HINT);
  const amount = Number(m[1]);
  if (unit === "" && !Number.isInteger(amount)) throw new ValidationError(field, `"${text}" is not a whole number of bytes`, SIZE_HINT);
  const bytes = Math.floor(amount * factor);
  if (!Number.isSafeInteger(bytes)) throw new ValidationError(field, `"${text}" is too large`, allowMax ? 'use "max" for no limit' : SIZE_HINT);
  return bytes;
}

/** CFS bandwidth: quota microseconds of CPU time per period microseconds. */
export interface CpuBandwidth {
  quota: number | Max;
  period: number;
}

/** Default CFS period (100 ms), the kernel's and every runtime's. */
export const DEFAULT_CPU_PERIOD = 100_000;
/** Kernel bounds (kernel/sched/core.c): period 1 ms..1 s, quota at least 1 ms. */
export const MIN_CPU_PERIOD = 1_000;
export const MAX_CPU_PERIOD = 1_000_000;
export const MIN_CPU_QUOTA = 1_000;

const CPU_HINT = 'write cores as a number or string ("0.5", "2"), millicores ("500m"), "max", or { quota, period } in microseconds';

/**
 * Parses a CPU amount: cores (0.5 or "0.5"), millicores ("500m"), "max", or { quota, period } in
 * microseconds. Cores become quota = cores x period with the default 100 ms period.
 */
export function parseCpu(value: unknown, field: string): CpuBandwidth {
  if (typeof value === "object" && value !== null) {
    const v = value as { quota?: unknown; period?: unknown };
    const period = v.period === undefined ? DEFAULT_CPU_PERIOD : parsePeriod(v.period, `${field}.period`);
    const quota = parseQuota(v.quota, `${field}.quota`);
    return { quota, period };
  }
  let cores: number;
  if (typeof value === "number") cores = value;
  else if (typeof value === "string") {
    const text = value.trim();
    if (text === "max") return { quota: "max", period: DEFAULT_CPU_PERIOD };
    const m = /^(\d+(?:\.\d+)?|\.\d+)(m?)$/.exec(text);
    if (m === null) throw new ValidationError(field, `"${value}" is not a CPU amount`, CPU_HINT);
    cores = m[2] === "m" ? Number(m[1]) / 1000 : Number(m[1]);
  } else throw new ValidationError(field, `expected a CPU amount, got ${describe(value)}`, CPU_HINT);
  if (!Number.isFinite(cores) || cores <= 0) throw new ValidationError(field, `${cores} cores is not a positive amount`, CPU_HINT);
  const quota = Math.round(cores * DEFAULT_CPU_PERIOD);
  if (quota < MIN_CPU_QUOTA) throw new ValidationError(field, `${value} is below the kernel's minimum of 0.01 cores (1 ms per 100 ms)`, CPU_HINT);
  return { quota, period: DEFAULT_CPU_PERIOD };
}

/** Parses a CFS quota in microseconds, or "max" (also -1, the v1 spelling). */
export function parseQuota(value: unknown, field: string): number | Max {
  if (value === "max" || value === -1) return "max";
  if (typeof value !== "number" || !Number.isInteger(value)) throw new ValidationError(field, `expected microseconds or "max", got ${describe(value)}`, CPU_HINT);
  if (value < MIN_CPU_QUOTA) throw new ValidationError(field, `${value} is below the kernel minimum of ${MIN_CPU_QUOTA} µs`, 'raise it, or use "max" for no limit');
  return value;
}

/** Parses a CFS period in microseconds (1000..1000000). */
export function parsePeriod(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < MIN_CPU_PERIOD || value > MAX_CPU_PERIOD) {
    throw new ValidationError(field, `expected microseconds between ${MIN_CPU_PERIOD} and ${MAX_CPU_PERIOD}, got ${describe(value)}`, "the default is 100000 (100 ms)");
  }
  return value;
}

/** Parses an integer in [min, max] (weights, shares, pids). */
export function parseIntIn(value: unknown, field: string, min: number, max: number, hint?: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field, `expected a whole number from ${min} to ${max}, got ${describe(value)}`, hint);
  }
  return value;
}

/** Short, safe description of an unexpected value for error messages. */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null) return "null";
  if (typeof value === "object") return Array.isArray(value) ? "an array" : "an object";
  return `${typeof value} ${String(value)}`;
}

// The io limit group (weight or blkioWeight; per-device throttles) and its cgroup v2 controller:
// io.weight ("default N", 1..10000) and io.max per device ("MAJ:MIN rbps=N wbps=N riops=N wiops=N",
// "max" for unlimited).
import { join } from "node:path";
import { UnsupportedError, ValidationError } from "../../sys/errors";
import { parseNestedKeyed, readCgroupFile, readOptional, writeCgroupFile } from "../cgroupfs";
import type { Controller, LimitGroup } from "../controller";
import { checkKeys, fieldName, ociNumber } from "../fields";
import { blkioWeightToIoWeight } from "../scales";
import { describe, parseIntIn, parseSize, type Max, type SizeInput } from "../units";

/** A per-device I/O throttle as declared. Absent or "max" means unlimited for that direction. */
export interface IoDeviceInput {
  major: number;
  minor: number;
  readBps?: SizeInput;
  writeBps?: SizeInput;
  readIops?: number | Max;
  writeIops?: number | Max;
}

/** I/O limits as declared. */
export interface IoInput {
  /** Relative weight 1..10000 (v2 io.weight scale). Give weight or blkioWeight, not both. */
  weight?: number;
  /** Relative weight 10..1000 (v1 blkio.weight scale). */
  blkioWeight?: number;
  devices?: IoDeviceInput[];
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

/** I/O limits in the kernel's terms: a weight (v2) or blkio weight (v1), devices sorted. */
export interface IoLimits {
  weight?: number;
  blkioWeight?: number;
  devices?: IoDeviceLimit[];
}

/** True when a device entry limits anything (an entry of only "max" values is no limit at all). */
export function hasDeviceLimit(d: IoDeviceLimit): boolean {
  return d.readBps !== undefined || d.writeBps !== undefined || d.readIops !== undefined || d.writeIops !== undefined;
}

/** Devices in MAJ:MIN order, the order drift comparison expects. */
export function sortDevices(devs: IoDeviceLimit[]): IoDeviceLimit[] {
  return [...devs].sort((a, b) => a.major - b.major || a.minor - b.minor);
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

function validateDevices(value: unknown, field: string): IoDeviceLimit[] {
  if (!Array.isArray(value)) throw new ValidationError(field, `expected a list, got ${describe(value)}`);
  const seen = new Set<string>();
  const devices = value.map((d: unknown, n: number) => {
    const df = `${field}[${n}]`;
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
  return sortDevices(devices.filter(hasDeviceLimit));
}

export const ioLimits: LimitGroup<"io", IoInput, IoLimits> = {
  name: "io",
  validate(input, field) {
    const i = checkKeys(input, field, ["weight", "blkioWeight", "devices"], "io limit");
    const out: IoLimits = {};
    if (i.weight !== undefined && i.blkioWeight !== undefined) throw new ValidationError(fieldName(field, "blkioWeight"), "weight and blkioWeight both given", "give one: weight (1..10000) or blkioWeight (10..1000)");
    if (i.weight !== undefined) out.weight = parseIntIn(i.weight, fieldName(field, "weight"), 1, 10000, "io.weight is 1..10000 (default 100)");
    if (i.blkioWeight !== undefined) out.blkioWeight = parseIntIn(i.blkioWeight, fieldName(field, "blkioWeight"), 10, 1000, "blkio.weight is 10..1000 (default 500)");
    if (i.devices !== undefined) out.devices = validateDevices(i.devices, fieldName(field, "devices"));
    return out;
  },
  oci: {
    key: "blockIO",
    fields: ["weight"],
    from(o, field) {
      const w = ociNumber(o.weight, `${field}.weight`);
      return w === undefined ? undefined : { blkioWeight: w };
    },
  },
  lift(olds, news) {
    const out: IoInput = { ...news };
    // The kernel's default weight: 100 on v2's scale, 500 on v1's; one setting in two scales.
    // Device throttles are not lifted: the provider README says why.
    const hadWeight = olds.weight != null || olds.blkioWeight != null;
    if (hadWeight && news.weight == null && news.blkioWeight == null) {
      if (olds.weight != null) out.weight = 100;
      else out.blkioWeight = 500;
    }
    return out;
  },
};

const KEYS = [
  ["readBps", "rbps"],
  ["writeBps", "wbps"],
  ["readIops", "riops"],
  ["writeIops", "wiops"],
] as const;

/** Parses io.max into device limits (fields at "max" are absent). */
export function parseIoMax(text: string): IoDeviceLimit[] {
  const out: IoDeviceLimit[] = [];
  for (const { major, minor, values } of parseNestedKeyed(text)) {
    const d: IoDeviceLimit = { major, minor };
    for (const [field, key] of KEYS) {
      const v = values.get(key);
      if (v !== undefined && v !== "max") d[field] = Number(v);
    }
    if (hasDeviceLimit(d)) out.push(d);
  }
  return sortDevices(out);
}

/** Parses io.weight: "default 100" then optional "MAJ:MIN weight" lines; the default is the cgroup's weight. */
export function parseIoWeight(text: string): number | undefined {
  const m = /^default\s+(\d+)/m.exec(text) ?? /^(\d+)$/m.exec(text);
  return m === null ? undefined : Number(m[1]);
}

export const ioV2: Controller<typeof ioLimits> = {
  name: "io",
  limits: ioLimits,
  normalize(io) {
    const out: IoLimits = {};
    if (io.weight !== undefined) out.weight = io.weight;
    if (io.blkioWeight !== undefined) out.weight = blkioWeightToIoWeight(io.blkioWeight);
    if (io.devices !== undefined) out.devices = io.devices;
    return out;
  },
  apply(dir, io) {
    if (io.weight !== undefined) {
      // io.weight comes from blk-iocost; without it the kernel has no proportional io control.
      const file = join(dir, "io.weight");
      if (readOptional(file) === undefined) throw new UnsupportedError(`io.weight: ${file} is missing: this kernel has no io cost controller`);
      writeCgroupFile(file, `default ${io.weight}`);
    }
    if (io.devices !== undefined) {
      // The declared list is the whole truth for io.max: a device no longer declared gets all "max".
      const file = join(dir, "io.max");
      const declared = new Set(io.devices.map((d) => `${d.major}:${d.minor}`));
      for (const live of parseIoMax(readCgroupFile(file))) {
        if (!declared.has(`${live.major}:${live.minor}`)) writeCgroupFile(file, `${live.major}:${live.minor} rbps=max wbps=max riops=max wiops=max`);
      }
      for (const d of io.devices) {
        const parts = KEYS.map(([field, key]) => `${key}=${d[field] ?? "max"}`);
        writeCgroupFile(file, `${d.major}:${d.minor} ${parts.join(" ")}`);
      }
    }
  },
  read(dir) {
    const io: IoLimits = {};
    const weight = readOptional(join(dir, "io.weight"));
    if (weight !== undefined) {
      const w = parseIoWeight(weight);
      if (w !== undefined) io.weight = w;
    }
    const max = readOptional(join(dir, "io.max"));
    if (max !== undefined) io.devices = parseIoMax(max);
    return io;
  },
};

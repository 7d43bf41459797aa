// cgroup v2 io controller: io.weight ("default N", 1..10000) and io.max per device
// ("MAJ:MIN rbps=N wbps=N riops=N wiops=N", "max" for unlimited).
import { join } from "node:path";
import { UnsupportedError } from "../../sys/errors";
import { parseNestedKeyed, readCgroupFile, readOptional, writeCgroupFile } from "../cgroupfs";
import type { Controller } from "../controller";
import { blkioWeightToIoWeight, hasDeviceLimit, sortDevices, type IoDeviceLimit, type NormalizedLimits } from "../spec";

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

export const ioV2: Controller = {
  name: "io",
  groups: ["io"],
  normalize(limits) {
    const io = limits.io;
    if (io === undefined) return {};
    const out: NonNullable<NormalizedLimits["io"]> = {};
    if (io.weight !== undefined) out.weight = io.weight;
    if (io.blkioWeight !== undefined) out.weight = blkioWeightToIoWeight(io.blkioWeight);
    if (io.devices !== undefined) out.devices = io.devices;
    return { io: out };
  },
  apply(dir, limits) {
    const io = limits.io;
    if (io === undefined) return;
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
    const io: NonNullable<NormalizedLimits["io"]> = {};
    const weight = readOptional(join(dir, "io.weight"));
    if (weight !== undefined) {
      const w = parseIoWeight(weight);
      if (w !== undefined) io.weight = w;
    }
    const max = readOptional(join(dir, "io.max"));
    if (max !== undefined) io.devices = parseIoMax(max);
    return { io };
  },
  stats() {
    return {};
  },
};

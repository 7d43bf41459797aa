// cgroup v1 blkio controller: blkio.weight (CFQ, 10..1000) or blkio.bfq.weight (BFQ, 1..1000; kernels
// since 5.0 have no CFQ), and throttles blkio.throttle.{read,write}_{bps,iops}_device ("MAJ:MIN N",
// where writing N = 0 removes the device's rule).
import { join } from "node:path";
import { UnsupportedError } from "../../sys/errors";
import { readOptional, writeCgroupFile } from "../cgroupfs";
import type { Controller } from "../controller";
import { ioWeightToBlkioWeight } from "../scales";
import { hasDeviceLimit, ioLimits, sortDevices, type IoDeviceLimit, type IoLimits } from "../v2/io";

const THROTTLES = [
  ["readBps", "blkio.throttle.read_bps_device"],
  ["writeBps", "blkio.throttle.write_bps_device"],
  ["readIops", "blkio.throttle.read_iops_device"],
  ["writeIops", "blkio.throttle.write_iops_device"],
] as const;

/** The weight file this kernel has: CFQ's blkio.weight, else BFQ's blkio.bfq.weight. */
function weightFile(dir: string): string | undefined {
  for (const f of ["blkio.weight", "blkio.bfq.weight"]) if (readOptional(join(dir, f)) !== undefined) return join(dir, f);
  return undefined;
}

/** Parses "MAJ:MIN value" lines of one throttle file. */
export function parseThrottleFile(text: string): { major: number; minor: number; value: number }[] {
  const out: { major: number; minor: number; value: number }[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+):(\d+)\s+(\d+)$/.exec(line.trim());
    if (m !== null) out.push({ major: Number(m[1]), minor: Number(m[2]), value: Number(m[3]) });
  }
  return out;
}

/** Reads the four throttle files into one list of device limits. */
function readThrottles(dir: string): IoDeviceLimit[] {
  const byDev = new Map<string, IoDeviceLimit>();
  for (const [field, file] of THROTTLES) {
    for (const { major, minor, value } of parseThrottleFile(readOptional(join(dir, file)) ?? "")) {
      const key = `${major}:${minor}`;
      if (!byDev.has(key)) byDev.set(key, { major, minor });
      if (value > 0) byDev.get(key)![field] = value;
    }
  }
  // Rebuild each entry in canonical key order so that drift comparison is order-proof.
  return sortDevices(
    [...byDev.values()]
      .map((d) => {
        const c: IoDeviceLimit = { major: d.major, minor: d.minor };
        for (const [field] of THROTTLES) if (d[field] !== undefined) c[field] = d[field];
        return c;
      })
      .filter(hasDeviceLimit),
  );
}

export const blkioV1: Controller<typeof ioLimits> = {
  name: "blkio",
  limits: ioLimits,
  normalize(io) {
    const out: IoLimits = {};
    // v1 stores the blkio scale (10..1000); a v2 io weight is converted as runc does, inverted.
    if (io.blkioWeight !== undefined) out.blkioWeight = io.blkioWeight;
    if (io.weight !== undefined) out.blkioWeight = ioWeightToBlkioWeight(io.weight);
    if (io.devices !== undefined) out.devices = io.devices;
    return out;
  },
  apply(dir, io) {
    if (io.blkioWeight !== undefined) {
      const file = weightFile(dir);
      if (file === undefined) throw new UnsupportedError(`io.weight: neither blkio.weight nor blkio.bfq.weight exists in ${dir}: no proportional I/O scheduler (CFQ/BFQ) on this kernel`);
      writeCgroupFile(file, String(io.blkioWeight));
    }
    if (io.devices !== undefined) {
      // The declared list is the whole truth: every live rule not declared is removed (value 0).
      const want = new Map(io.devices.map((d) => [`${d.major}:${d.minor}`, d]));
      for (const [field, name] of THROTTLES) {
        const file = join(dir, name);
        for (const live of parseThrottleFile(readOptional(file) ?? "")) {
          const key = `${live.major}:${live.minor}`;
          if (want.get(key)?.[field] === undefined) writeCgroupFile(file, `${key} 0`);
        }
        for (const [key, d] of want) {
          const v = d[field];
          if (v !== undefined) writeCgroupFile(file, `${key} ${v}`);
        }
      }
    }
  },
  read(dir) {
    const io: IoLimits = { devices: readThrottles(dir) };
    const file = weightFile(dir);
    if (file !== undefined) {
      // blkio.bfq.weight prints "default N" on recent kernels, a bare "N" on older ones.
      const m = /(\d+)\s*$/m.exec((readOptional(file) ?? "").split("\n")[0] ?? "");
      if (m !== null) io.blkioWeight = Number(m[1]);
    }
    return io;
  },
};

// The memory limit group (version-neutral: max, high, low, swapMax) and its cgroup v2 controller:
// memory.max / memory.high / memory.low / memory.swap.max.
import { join } from "node:path";
import { UnsupportedError } from "../../sys/errors";
import { readCgroupFile, readFlatKeyed, readOptional, writeCgroupFile } from "../cgroupfs";
import type { Controller, LimitGroup, StatsPart } from "../controller";
import { checkKeys, fieldName, ociLimit, ociNumber, setDefined } from "../fields";
import { roundToPage } from "../scales";
import { parseSize, type Max, type SizeInput } from "../units";

/** Memory limits as declared: bytes or sizes ("256Mi", "1G") or "max". */
export interface MemoryInput {
  /** Hard limit (v2 memory.max, v1 memory.limit_in_bytes). */
  max?: SizeInput;
  /** Throttling threshold (v2 memory.high; v1 has no equivalent). */
  high?: SizeInput;
  /** Best-effort protection (v2 memory.low, v1 memory.soft_limit_in_bytes). */
  low?: SizeInput;
  /** Swap on top of memory (v2 memory.swap.max; v1 memory.memsw.limit_in_bytes = max + swapMax). */
  swapMax?: SizeInput;
}

/** Memory limits in bytes rounded down to whole pages, or "max". */
export interface MemoryLimits {
  max?: number | Max;
  high?: number | Max;
  low?: number | Max;
  swapMax?: number | Max;
}

const KEYS = ["max", "high", "low", "swapMax"] as const;

/** The kernel's "no limit" of each memory limit (low's is 0: no protection). */
const UNLIMITED: Required<MemoryLimits> = { max: "max", high: "max", low: 0, swapMax: "max" };

export const memoryLimits: LimitGroup<"memory", MemoryInput, MemoryLimits> = {
  name: "memory",
  validate(input, field) {
    const m = checkKeys(input, field, KEYS, "memory limit");
    const out: MemoryLimits = {};
    for (const key of KEYS) if (m[key] !== undefined) out[key] = roundToPage(parseSize(m[key], fieldName(field, key), { allowMax: true }));
    return out;
  },
  oci: {
    key: "memory",
    // disableOOMKiller and swappiness exist only in v1 and runc ignores them on v2; accepted, not applied.
    fields: ["limit", "reservation", "swap", "disableOOMKiller", "swappiness"],
    from(o, field) {
      const limit = ociLimit(ociNumber(o.limit, `${field}.limit`));
      const reservation = ociLimit(ociNumber(o.reservation, `${field}.reservation`));
      const swap = ociLimit(ociNumber(o.swap, `${field}.swap`));
      const out: MemoryInput = {};
      setDefined(out, "max", limit);
      setDefined(out, "low", reservation);
      // OCI swap is memory+swap (v1 memsw); hostform's swapMax is swap on top of memory.
      if (swap !== undefined) out.swapMax = swap === "max" || typeof limit !== "number" ? "max" : Math.max(0, swap - limit);
      return out;
    },
  },
  lift(olds, news) {
    const out: MemoryInput = { ...news };
    for (const key of KEYS) if (olds[key] != null && news[key] == null) out[key] = UNLIMITED[key];
    return out;
  },
};

/** v2 spells "no limit" as the word "max"; every value is stored in whole pages. */
export function parseV2Bytes(text: string): number | Max {
  return text === "max" ? "max" : Number(text);
}

const FILES = { max: "memory.max", high: "memory.high", low: "memory.low", swapMax: "memory.swap.max" } as const;

export const memoryV2: Controller<typeof memoryLimits> = {
  name: "memory",
  limits: memoryLimits,
  apply(dir, m) {
    for (const key of ["low", "high", "max", "swapMax"] as const) {
      const v = m[key];
      if (v === undefined) continue;
      const file = join(dir, FILES[key]);
      // memory.swap.max exists only when the kernel accounts swap (CONFIG_MEMCG_SWAP, swapaccount=1).
      if (key === "swapMax" && readOptional(file) === undefined) throw new UnsupportedError(`memory.swapMax: ${file} is missing: this kernel does not account swap`);
      writeCgroupFile(file, String(v));
    }
  },
  read(dir) {
    const mem: MemoryLimits = {};
    for (const key of KEYS) {
      const text = readOptional(join(dir, FILES[key]));
      if (text !== undefined) mem[key] = parseV2Bytes(text);
    }
    return mem;
  },
  stats(dir): StatsPart {
    const events = readFlatKeyed(join(dir, "memory.events"));
    const peak = readOptional(join(dir, "memory.peak"));
    const mem: NonNullable<StatsPart["memory"]> = {
      current: Number(readCgroupFile(join(dir, "memory.current"))),
      oom: events.get("oom") ?? 0,
      oomKill: events.get("oom_kill") ?? 0,
      maxHits: events.get("max") ?? 0,
    };
    // memory.peak appeared in Linux 5.19.
    if (peak !== undefined) mem.peak = Number(peak);
    return { memory: mem };
  },
};

// cgroup v2 memory controller: memory.max / memory.high / memory.low / memory.swap.max.
import { join } from "node:path";
import { UnsupportedError } from "../../sys/errors";
import { readCgroupFile, readFlatKeyed, readOptional, writeCgroupFile } from "../cgroupfs";
import type { Controller, StatsPart } from "../controller";
import type { NormalizedLimits } from "../spec";
import type { Max } from "../units";

/** v2 spells "no limit" as the word "max"; every value is stored in whole pages. */
export function parseV2Bytes(text: string): number | Max {
  return text === "max" ? "max" : Number(text);
}

const FILES = { max: "memory.max", high: "memory.high", low: "memory.low", swapMax: "memory.swap.max" } as const;

export const memoryV2: Controller = {
  name: "memory",
  groups: ["memory"],
  normalize(limits) {
    return limits.memory === undefined ? {} : { memory: { ...limits.memory } };
  },
  apply(dir, limits) {
    const m = limits.memory;
    if (m === undefined) return;
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
    const mem: NonNullable<NormalizedLimits["memory"]> = {};
    for (const key of ["max", "high", "low", "swapMax"] as const) {
      const text = readOptional(join(dir, FILES[key]));
      if (text !== undefined) mem[key] = parseV2Bytes(text);
    }
    return { memory: mem };
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

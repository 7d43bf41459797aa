// cgroup v2 cpu controller: cpu.weight (1..10000) and cpu.max ("$QUOTA $PERIOD", quota "max").
import { join } from "node:path";
import { readCgroupFile, readFlatKeyed, readOptional, writeCgroupFile } from "../cgroupfs";
import type { Controller, StatsPart } from "../controller";
import { cpuSharesToWeight, type NormalizedLimits } from "../spec";
import type { Max } from "../units";

/** Parses cpu.max ("max 100000" or "50000 100000"). */
export function parseCpuMax(text: string): { quota: number | Max; period: number } {
  const [q, p] = text.trim().split(/\s+/);
  return { quota: q === "max" ? "max" : Number(q), period: Number(p) };
}

export const cpuV2: Controller = {
  name: "cpu",
  groups: ["cpu"],
  normalize(limits) {
    const c = limits.cpu;
    if (c === undefined) return {};
    const out: NonNullable<NormalizedLimits["cpu"]> = {};
    // v2 stores a weight; shares are converted the way runc, crun and systemd do.
    if (c.weight !== undefined) out.weight = c.weight;
    if (c.shares !== undefined) out.weight = cpuSharesToWeight(c.shares);
    if (c.quota !== undefined) out.quota = c.quota;
    if (c.period !== undefined) out.period = c.period;
    return { cpu: out };
  },
  apply(dir, limits) {
    const c = limits.cpu;
    if (c === undefined) return;
    if (c.weight !== undefined) writeCgroupFile(join(dir, "cpu.weight"), String(c.weight));
    if (c.quota !== undefined || c.period !== undefined) {
      // cpu.max takes quota and period in one write; keep the live half that was not declared.
      const live = parseCpuMax(readCgroupFile(join(dir, "cpu.max")));
      writeCgroupFile(join(dir, "cpu.max"), `${c.quota ?? live.quota} ${c.period ?? live.period}`);
    }
  },
  read(dir) {
    const cpu: NonNullable<NormalizedLimits["cpu"]> = {};
    const weight = readOptional(join(dir, "cpu.weight"));
    if (weight !== undefined) cpu.weight = Number(weight);
    const max = readOptional(join(dir, "cpu.max"));
    if (max !== undefined) Object.assign(cpu, parseCpuMax(max));
    return { cpu };
  },
  stats(dir): StatsPart {
    const s = readFlatKeyed(join(dir, "cpu.stat"));
    return {
      cpu: {
        usageUsec: s.get("usage_usec") ?? 0,
        userUsec: s.get("user_usec") ?? 0,
        systemUsec: s.get("system_usec") ?? 0,
        nrPeriods: s.get("nr_periods") ?? 0,
        nrThrottled: s.get("nr_throttled") ?? 0,
        throttledUsec: s.get("throttled_usec") ?? 0,
      },
    };
  },
};

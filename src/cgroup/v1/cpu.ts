// cgroup v1 cpu controller: cpu.shares (2..262144) and CFS bandwidth cpu.cfs_quota_us (-1 = none) /
// cpu.cfs_period_us.
import { join } from "node:path";
import { readFlatKeyed, readInt, readOptional, writeCgroupFile } from "../cgroupfs";
import type { Controller, StatsPart } from "../controller";
import { cpuWeightToShares } from "../scales";
import { cpuLimits, type CpuLimits } from "../v2/cpu";

export const cpuV1: Controller<typeof cpuLimits> = {
  name: "cpu",
  limits: cpuLimits,
  normalize(c) {
    const out: CpuLimits = {};
    // v1 stores shares; a weight is converted with the inverse of the runc/crun/systemd formula.
    if (c.shares !== undefined) out.shares = c.shares;
    if (c.weight !== undefined) out.shares = cpuWeightToShares(c.weight);
    if (c.quota !== undefined) out.quota = c.quota;
    if (c.period !== undefined) out.period = c.period;
    return out;
  },
  apply(dir, c) {
    if (c.shares !== undefined) writeCgroupFile(join(dir, "cpu.shares"), String(c.shares));
    // The period first: the kernel checks quota against the period in force when the quota is written.
    if (c.period !== undefined) writeCgroupFile(join(dir, "cpu.cfs_period_us"), String(c.period));
    if (c.quota !== undefined) writeCgroupFile(join(dir, "cpu.cfs_quota_us"), c.quota === "max" ? "-1" : String(c.quota));
  },
  read(dir) {
    const cpu: CpuLimits = {};
    if (readOptional(join(dir, "cpu.shares")) !== undefined) cpu.shares = readInt(join(dir, "cpu.shares"));
    if (readOptional(join(dir, "cpu.cfs_quota_us")) !== undefined) {
      const q = readInt(join(dir, "cpu.cfs_quota_us"));
      cpu.quota = q < 0 ? "max" : q;
      cpu.period = readInt(join(dir, "cpu.cfs_period_us"));
    }
    return cpu;
  },
  stats(dir): StatsPart {
    const s = readFlatKeyed(join(dir, "cpu.stat"));
    return {
      cpu: {
        nrPeriods: s.get("nr_periods") ?? 0,
        nrThrottled: s.get("nr_throttled") ?? 0,
        // v1 reports throttled_time in nanoseconds.
        throttledUsec: Math.floor((s.get("throttled_time") ?? 0) / 1000),
      },
    };
  },
};

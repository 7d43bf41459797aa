// The cpu limit group (weight or shares; quota/period or cores) and its cgroup v2 controller:
// cpu.weight (1..10000) and cpu.max ("$QUOTA $PERIOD", quota "max").
import { join } from "node:path";
import { ValidationError } from "../../sys/errors";
import { readCgroupFile, readFlatKeyed, readOptional, writeCgroupFile } from "../cgroupfs";
import type { Controller, LimitGroup, StatsPart } from "../controller";
import { checkKeys, fieldName, ociLimit, ociNumber, setDefined } from "../fields";
import { cpuSharesToWeight } from "../scales";
import { DEFAULT_CPU_PERIOD, parseCpu, parseIntIn, parsePeriod, parseQuota, type Max } from "../units";

/** CPU limits as declared. */
export interface CpuInput {
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
}

/** CPU limits in the kernel's terms: a weight (v2) or shares (v1), and CFS quota/period. */
export interface CpuLimits {
  weight?: number;
  shares?: number;
  quota?: number | Max;
  period?: number;
}

export const cpuLimits: LimitGroup<"cpu", CpuInput, CpuLimits> = {
  name: "cpu",
  validate(input, field) {
    const c = checkKeys(input, field, ["weight", "shares", "quota", "period", "cores"], "cpu limit");
    const out: CpuLimits = {};
    if (c.weight !== undefined && c.shares !== undefined) throw new ValidationError(fieldName(field, "shares"), "weight and shares both given", "give one: weight (1..10000) or shares (2..262144)");
    if (c.weight !== undefined) out.weight = parseIntIn(c.weight, fieldName(field, "weight"), 1, 10000, "cpu.weight is 1..10000 (default 100)");
    if (c.shares !== undefined) out.shares = parseIntIn(c.shares, fieldName(field, "shares"), 2, 262144, "cpu.shares is 2..262144 (default 1024)");
    if (c.cores !== undefined) {
      if (c.quota !== undefined || c.period !== undefined) throw new ValidationError(fieldName(field, "cores"), "cores and quota/period both given", "give cores, or quota with an optional period");
      const bw = parseCpu(c.cores, fieldName(field, "cores"));
      out.quota = bw.quota;
      out.period = bw.period;
    } else {
      if (c.quota !== undefined) out.quota = parseQuota(c.quota, fieldName(field, "quota"));
      if (c.period !== undefined) out.period = parsePeriod(c.period, fieldName(field, "period"));
      // The kernel keeps quota and period together; a quota alone means the default period.
      if (out.quota !== undefined && out.period === undefined) out.period = DEFAULT_CPU_PERIOD;
    }
    return out;
  },
  oci: {
    key: "cpu",
    fields: ["shares", "quota", "period"],
    from(o, field) {
      const out: CpuInput = {};
      setDefined(out, "shares", ociNumber(o.shares, `${field}.shares`));
      setDefined(out, "quota", ociLimit(ociNumber(o.quota, `${field}.quota`)));
      setDefined(out, "period", ociNumber(o.period, `${field}.period`));
      return out;
    },
  },
  lift(olds, news) {
    const out: CpuInput = { ...news };
    // The kernel's defaults: weight 100 (v2) is shares 1024 (v1); no quota.
    if (olds.weight != null && news.weight == null && news.shares == null) out.weight = 100;
    if (olds.shares != null && news.shares == null && news.weight == null) out.shares = 1024;
    // Cores and quota are one setting; the period stays as the kernel has it.
    const hadQuota = olds.quota != null || olds.cores != null;
    if (hadQuota && news.quota == null && news.cores == null) out.quota = "max";
    return out;
  },
};

/** Parses cpu.max ("max 100000" or "50000 100000"). */
export function parseCpuMax(text: string): { quota: number | Max; period: number } {
  const [q, p] = text.trim().split(/\s+/);
  return { quota: q === "max" ? "max" : Number(q), period: Number(p) };
}

export const cpuV2: Controller<typeof cpuLimits> = {
  name: "cpu",
  limits: cpuLimits,
  normalize(c) {
    const out: CpuLimits = {};
    // v2 stores a weight; shares are converted the way runc, crun and systemd do.
    if (c.weight !== undefined) out.weight = c.weight;
    if (c.shares !== undefined) out.weight = cpuSharesToWeight(c.shares);
    if (c.quota !== undefined) out.quota = c.quota;
    if (c.period !== undefined) out.period = c.period;
    return out;
  },
  apply(dir, c) {
    if (c.weight !== undefined) writeCgroupFile(join(dir, "cpu.weight"), String(c.weight));
    if (c.quota !== undefined || c.period !== undefined) {
      // cpu.max takes quota and period in one write; keep the live half that was not declared.
      const live = parseCpuMax(readCgroupFile(join(dir, "cpu.max")));
      writeCgroupFile(join(dir, "cpu.max"), `${c.quota ?? live.quota} ${c.period ?? live.period}`);
    }
  },
  read(dir) {
    const cpu: CpuLimits = {};
    const weight = readOptional(join(dir, "cpu.weight"));
    if (weight !== undefined) cpu.weight = Number(weight);
    const max = readOptional(join(dir, "cpu.max"));
    if (max !== undefined) Object.assign(cpu, parseCpuMax(max));
    return cpu;
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

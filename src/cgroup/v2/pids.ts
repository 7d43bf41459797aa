// The pids limit group (max tasks) and its cgroup v2 controller: pids.max ("max" or a task count).
import { join } from "node:path";
import { readCgroupFile, readFlatKeyed, readOptional, writeCgroupFile } from "../cgroupfs";
import type { Controller, LimitGroup } from "../controller";
import { checkKeys, fieldName, ociNumber } from "../fields";
import { parseIntIn, type Max } from "../units";

/** A task count, or "max" (-1, as OCI writes it, means the same). 0 is a real limit: no new task may join. */
export interface PidsLimits {
  max?: number | Max;
}

export const pidsLimits: LimitGroup<"pids", PidsLimits, PidsLimits> = {
  name: "pids",
  validate(input, field) {
    const p = checkKeys(input, field, ["max"], "pids limit");
    const out: PidsLimits = {};
    if (p.max !== undefined) out.max = p.max === "max" || p.max === -1 ? "max" : parseIntIn(p.max, fieldName(field, "max"), 0, 4194304, 'a task count, or "max"');
    return out;
  },
  oci: {
    key: "pids",
    fields: ["limit"],
    from(o, field) {
      const l = ociNumber(o.limit, `${field}.limit`);
      // As runc reads it: a limit of 0 or below is "no limit".
      return l === undefined ? undefined : { max: l <= 0 ? "max" : l };
    },
  },
  lift(olds, news) {
    return olds.max != null && news.max == null ? { ...news, max: "max" } : { ...news };
  },
};

/** pids.max and pids.current are spelled the same in v1 and v2 (v1/pids.ts reuses this). */
export const pidsV2: Controller<typeof pidsLimits> = {
  name: "pids",
  limits: pidsLimits,
  apply(dir, p) {
    if (p.max !== undefined) writeCgroupFile(join(dir, "pids.max"), String(p.max));
  },
  read(dir) {
    const pids: PidsLimits = {};
    const text = readOptional(join(dir, "pids.max"));
    if (text !== undefined) pids.max = text === "max" ? "max" : Number(text);
    return pids;
  },
  stats(dir) {
    return {
      pids: {
        current: Number(readCgroupFile(join(dir, "pids.current"))),
        limitHits: readFlatKeyed(join(dir, "pids.events")).get("max") ?? 0,
      },
    };
  },
};

// The cpuset limit group (cpus, mems) and its cgroup v2 controller: cpuset.cpus / cpuset.mems. An
// empty file means "inherit the parent's".
import { join } from "node:path";
import { ValidationError } from "../../sys/errors";
import { readOptional, writeCgroupFile } from "../cgroupfs";
import type { Controller, LimitGroup } from "../controller";
import { checkKeys, fieldName } from "../fields";
import { describe } from "../units";

/** CPUs and memory nodes as lists such as "0-1" or "0,2"; stored in the kernel's canonical spelling. */
export interface CpusetLimits {
  cpus?: string;
  mems?: string;
}

/** Parses a cpu/mem list ("0-3,5") into its canonical spelling ("0-3,5"), as the kernel prints it. */
export function normalizeCpuList(value: unknown, field: string): string {
  const hint = 'write ids and ranges such as "0", "0-3" or "0,2-3"';
  if (typeof value !== "string" || value.trim() === "") throw new ValidationError(field, `expected a list of ids, got ${describe(value)}`, hint);
  const ids = new Set<number>();
  for (const part of value.split(",")) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (m === null) throw new ValidationError(field, `"${part.trim()}" is not an id or a range`, hint);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new ValidationError(field, `range "${part.trim()}" ends before it starts`, hint);
    if (hi > 65535) throw new ValidationError(field, `${hi} is beyond any real id`, hint);
    for (let i = lo; i <= hi; i++) ids.add(i);
  }
  return formatIdList([...ids]);
}

/** Formats ids as kernel-style ranges. */
export function formatIdList(ids: number[]): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] ?? 0) + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

export const cpusetLimits: LimitGroup<"cpuset", CpusetLimits, CpusetLimits> = {
  name: "cpuset",
  validate(input, field) {
    const c = checkKeys(input, field, ["cpus", "mems"], "cpuset limit");
    const out: CpusetLimits = {};
    if (c.cpus !== undefined) out.cpus = normalizeCpuList(c.cpus, fieldName(field, "cpus"));
    if (c.mems !== undefined) out.mems = normalizeCpuList(c.mems, fieldName(field, "mems"));
    return out;
  },
  oci: {
    // OCI keeps the cpuset lists under linux.resources.cpu.
    key: "cpu",
    fields: ["cpus", "mems"],
    from(o) {
      const out: CpusetLimits = {};
      if (typeof o.cpus === "string" && o.cpus !== "") out.cpus = o.cpus;
      if (typeof o.mems === "string" && o.mems !== "") out.mems = o.mems;
      return Object.keys(out).length > 0 ? out : undefined;
    },
  },
  // Not lifted: "all CPUs" is the parent's list at the time, which a removed declaration cannot know.
  lift(_olds, news) {
    return { ...news };
  },
};

/** Reads cpuset.cpus / cpuset.mems (the same files in v1 and v2). */
export function readCpuset(dir: string): CpusetLimits {
  const cs: CpusetLimits = {};
  for (const key of ["cpus", "mems"] as const) {
    const text = readOptional(join(dir, `cpuset.${key}`));
    if (text !== undefined && text !== "") cs[key] = normalizeCpuList(text, `cpuset.${key}`);
  }
  return cs;
}

/** Writes mems before cpus, as the kernel checks a task's placement against both. */
export function writeCpuset(dir: string, c: CpusetLimits): void {
  if (c.mems !== undefined) writeCgroupFile(join(dir, "cpuset.mems"), c.mems);
  if (c.cpus !== undefined) writeCgroupFile(join(dir, "cpuset.cpus"), c.cpus);
}

export const cpusetV2: Controller<typeof cpusetLimits> = {
  name: "cpuset",
  limits: cpusetLimits,
  apply: writeCpuset,
  read: readCpuset,
};

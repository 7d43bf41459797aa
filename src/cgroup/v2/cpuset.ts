// cgroup v2 cpuset controller: cpuset.cpus / cpuset.mems. An empty file means "inherit the parent's".
import { join } from "node:path";
import { readOptional, writeCgroupFile } from "../cgroupfs";
import type { Controller } from "../controller";
import { normalizeCpuList, type NormalizedLimits } from "../spec";

export const cpusetV2: Controller = {
  name: "cpuset",
  groups: ["cpuset"],
  normalize(limits) {
    return limits.cpuset === undefined ? {} : { cpuset: { ...limits.cpuset } };
  },
  apply(dir, limits) {
    const c = limits.cpuset;
    if (c === undefined) return;
    if (c.mems !== undefined) writeCgroupFile(join(dir, "cpuset.mems"), c.mems);
    if (c.cpus !== undefined) writeCgroupFile(join(dir, "cpuset.cpus"), c.cpus);
  },
  read(dir) {
    const cs: NonNullable<NormalizedLimits["cpuset"]> = {};
    for (const key of ["cpus", "mems"] as const) {
      const text = readOptional(join(dir, `cpuset.${key}`));
      if (text !== undefined && text !== "") cs[key] = normalizeCpuList(text, `cpuset.${key}`);
    }
    return { cpuset: cs };
  },
  stats() {
    return {};
  },
};

// cgroup v1 cpuset controller: cpuset.cpus / cpuset.mems.
import { join } from "node:path";
import { readCgroupFile, readOptional, writeCgroupFile } from "../cgroupfs";
import type { Controller } from "../controller";
import { normalizeCpuList, type NormalizedLimits } from "../spec";

export const cpusetV1: Controller = {
  name: "cpuset",
  groups: ["cpuset"],
  normalize(limits) {
    return limits.cpuset === undefined ? {} : { cpuset: { ...limits.cpuset } };
  },
  prepare(dir, parentDir) {
    // A new v1 cpuset starts with empty cpus and mems, and the kernel refuses to attach a task
    // (ENOSPC) until both are set: copy the parent's, as cgroup.clone_children would.
    for (const file of ["cpuset.cpus", "cpuset.mems"]) {
      if (readCgroupFile(join(dir, file)) === "") writeCgroupFile(join(dir, file), readCgroupFile(join(parentDir, file)));
    }
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

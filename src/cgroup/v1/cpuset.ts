// cgroup v1 cpuset controller: cpuset.cpus / cpuset.mems, as in v2, except that a new cgroup starts
// with both empty.
import { join } from "node:path";
import { readCgroupFile, writeCgroupFile } from "../cgroupfs";
import type { Controller } from "../controller";
import { cpusetLimits, readCpuset, writeCpuset } from "../v2/cpuset";

export const cpusetV1: Controller<typeof cpusetLimits> = {
  name: "cpuset",
  limits: cpusetLimits,
  prepare(dir, parentDir) {
    // A new v1 cpuset starts with empty cpus and mems, and the kernel refuses to attach a task
    // (ENOSPC) until both are set: copy the parent's, as cgroup.clone_children would.
    for (const file of ["cpuset.cpus", "cpuset.mems"]) {
      if (readCgroupFile(join(dir, file)) === "") writeCgroupFile(join(dir, file), readCgroupFile(join(parentDir, file)));
    }
  },
  apply: writeCpuset,
  read: readCpuset,
};

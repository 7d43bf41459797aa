// cgroup v2 pids controller: pids.max ("max" or a task count; 0 is a real limit).
import { join } from "node:path";
import { readCgroupFile, readFlatKeyed, readOptional, writeCgroupFile } from "../cgroupfs";
import type { Controller } from "../controller";
import type { NormalizedLimits } from "../spec";

/** pids.max and pids.current are spelled the same in v1 and v2. */
export const pidsV2: Controller = {
  name: "pids",
  groups: ["pids"],
  normalize(limits) {
    return limits.pids === undefined ? {} : { pids: { ...limits.pids } };
  },
  apply(dir, limits) {
    if (limits.pids?.max !== undefined) writeCgroupFile(join(dir, "pids.max"), String(limits.pids.max));
  },
  read(dir) {
    const pids: NonNullable<NormalizedLimits["pids"]> = {};
    const text = readOptional(join(dir, "pids.max"));
    if (text !== undefined) pids.max = text === "max" ? "max" : Number(text);
    return { pids };
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

// cgroup v1 pids controller: the same files and spelling as v2 ("max" or a count).
import type { Controller } from "../controller";
import { pidsV2, type pidsLimits } from "../v2/pids";

/** pids.max, pids.current and pids.events read and write identically in v1 and v2. */
export const pidsV1: Controller<typeof pidsLimits> = { ...pidsV2 };

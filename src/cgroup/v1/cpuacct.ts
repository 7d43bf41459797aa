// cgroup v1 cpuacct controller: usage accounting only (no limits). On some hosts it shares a
// hierarchy with cpu ("cpu,cpuacct"); on others (this one) it has its own.
import { join } from "node:path";
import { readFlatKeyed, readInt } from "../cgroupfs";
import type { Controller } from "../controller";

/** cpuacct.stat counts USER_HZ ticks, which is 100 per second on every Linux ABI. */
const USEC_PER_TICK = 10_000;

export const cpuacctV1: Controller<undefined> = {
  name: "cpuacct",
  limits: undefined,
  stats(dir) {
    const s = readFlatKeyed(join(dir, "cpuacct.stat"));
    return {
      cpu: {
        // cpuacct.usage is nanoseconds.
        usageUsec: Math.floor(readInt(join(dir, "cpuacct.usage")) / 1000),
        userUsec: (s.get("user") ?? 0) * USEC_PER_TICK,
        systemUsec: (s.get("system") ?? 0) * USEC_PER_TICK,
      },
    };
  },
};

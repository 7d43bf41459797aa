// cgroup v1 memory controller: memory.limit_in_bytes (max), memory.soft_limit_in_bytes (low) and
// memory.memsw.limit_in_bytes (memory + swap, so memsw = max + swapMax).
import { join } from "node:path";
import { UnsupportedError } from "../../sys/errors";
import { readCgroupFile, readFlatKeyed, readOptional, writeCgroupFile } from "../cgroupfs";
import type { Controller, StatsPart } from "../controller";
import type { Max } from "../units";
import { memoryLimits, type MemoryLimits } from "../v2/memory";
import { readV1Bytes, v1Spelling } from "./bytes";

const LIMIT = "memory.limit_in_bytes";
const MEMSW = "memory.memsw.limit_in_bytes";
const SOFT = "memory.soft_limit_in_bytes";

function lessThan(a: number | Max, b: number | Max): boolean {
  if (a === "max") return false;
  return b === "max" || a < b;
}

export const memoryV1: Controller<typeof memoryLimits> = {
  name: "memory",
  limits: memoryLimits,
  normalize(m, field) {
    if (m.high !== undefined) {
      throw new UnsupportedError(`${field}.high: cgroup v1 has no memory.high (throttling threshold); declare memory.max, or use a cgroup v2 host`);
    }
    return { ...m };
  },
  apply(dir, m) {
    if (m.low !== undefined) writeCgroupFile(join(dir, SOFT), v1Spelling(m.low));
    const limitFile = join(dir, LIMIT);
    const memswFile = join(dir, MEMSW);
    if (m.swapMax === undefined) {
      if (m.max !== undefined) writeCgroupFile(limitFile, v1Spelling(m.max));
      return;
    }
    // memsw exists only with swap accounting (CONFIG_MEMCG_SWAP and swapaccount=1).
    if (readOptional(memswFile) === undefined) throw new UnsupportedError(`memory.swapMax: ${memswFile} is missing: this kernel does not account swap`);
    const limit = m.max ?? readV1Bytes(limitFile);
    const memsw: number | Max = limit === "max" || m.swapMax === "max" ? "max" : limit + m.swapMax;
    // The kernel keeps memsw >= limit at every moment and refuses (EINVAL) a write that would break
    // it: when the new memsw is below the live limit (lowering), the limit must go first; otherwise
    // memsw goes first so that a raised limit fits under it.
    if (lessThan(memsw, readV1Bytes(limitFile))) {
      writeCgroupFile(limitFile, v1Spelling(limit));
      writeCgroupFile(memswFile, v1Spelling(memsw));
    } else {
      writeCgroupFile(memswFile, v1Spelling(memsw));
      writeCgroupFile(limitFile, v1Spelling(limit));
    }
  },
  read(dir) {
    const max = readV1Bytes(join(dir, LIMIT));
    const mem: MemoryLimits = { max, low: readV1Bytes(join(dir, SOFT)) };
    if (readOptional(join(dir, MEMSW)) !== undefined) {
      const memsw = readV1Bytes(join(dir, MEMSW));
      mem.swapMax = memsw === "max" ? "max" : max === "max" ? 0 : memsw - max;
    }
    return mem;
  },
  stats(dir): StatsPart {
    return {
      memory: {
        current: Number(readCgroupFile(join(dir, "memory.usage_in_bytes"))),
        peak: Number(readCgroupFile(join(dir, "memory.max_usage_in_bytes"))),
        // oom_kill in memory.oom_control appeared in Linux 4.13.
        oomKill: readFlatKeyed(join(dir, "memory.oom_control")).get("oom_kill") ?? 0,
        maxHits: Number(readCgroupFile(join(dir, "memory.failcnt"))),
      },
    };
  },
};

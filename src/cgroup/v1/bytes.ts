// How cgroup v1 spells byte limits.
import { parseKernelInt, readCgroupFile } from "../cgroupfs";
import type { Max } from "../units";

/**
 * v1 has no word for "no limit": it prints PAGE_COUNTER_MAX pages in bytes, 9223372036854771712 on
 * 4 KiB pages (LONG_MAX rounded down to a page). Anything past 2^53 can only be that, so it reads as "max".
 */
export const V1_UNLIMITED = "9223372036854771712";

/** Reads a v1 byte limit as bytes or "max". */
export function readV1Bytes(path: string): number | Max {
  const v = parseKernelInt(readCgroupFile(path), path);
  return typeof v === "bigint" || v < 0 ? "max" : v;
}

/** Spells a limit for a v1 file: "max" is written as -1, which every v1 limit file accepts as "unlimited". */
export function v1Spelling(v: number | Max): string {
  return v === "max" ? "-1" : String(v);
}

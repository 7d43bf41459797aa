// The kernel's scales for the same setting across cgroup versions, and the page rounding of memory
// limits: the standard conversions runc, crun and systemd use, so a value reads back the same.
import { closeSync, openSync, readSync } from "node:fs";
import type { Max } from "./units";

let pageSize: number | undefined;

/** The kernel page size; memory limits are stored in whole pages (page_counter). */
export function kernelPageSize(): number {
  if (pageSize !== undefined) return pageSize;
  pageSize = 4096;
  try {
    // The first mapping's entry is enough, and reading all of smaps costs a Node process ~0.5 s.
    const buf = Buffer.alloc(4096);
    const fd = openSync("/proc/self/smaps", "r");
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } finally {
      closeSync(fd);
    }
    const m = /KernelPageSize:\s+(\d+) kB/.exec(buf.toString("utf8", 0, n));
    if (m !== null) pageSize = Number(m[1]) * 1024;
  } catch {
    // /proc/self/smaps missing (unusual /proc): 4 KiB is the page size of every common Linux build.
  }
  return pageSize;
}

/** Rounds a byte count down to whole pages, as the kernel does when it stores a memory limit. */
export function roundToPage(bytes: number | Max): number | Max {
  if (bytes === "max") return "max";
  const p = kernelPageSize();
  return Math.floor(bytes / p) * p;
}

/** runc/crun/systemd conversion from v1 cpu.shares (2..262144) to v2 cpu.weight (1..10000). */
export function cpuSharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** Inverse of cpuSharesToWeight (as crun writes it), used to express a weight on v1. */
export function cpuWeightToShares(weight: number): number {
  return 2 + Math.floor(((weight - 1) * 262142) / 9999);
}

/** runc's conversion from v1 blkio.weight (10..1000) to v2 io.weight (1..10000). */
export function blkioWeightToIoWeight(weight: number): number {
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/** Inverse of blkioWeightToIoWeight, used to express an io weight on v1. */
export function ioWeightToBlkioWeight(weight: number): number {
  return 10 + Math.floor(((weight - 1) * 990) / 9999);
}

// The IPv4 routes of the host's (or the caller's) network namespace, from /proc/net/route: what a
// new network's subnet must not overlap, or its containers would shadow (or be shadowed by) a route
// the host already uses.
import { readFileSync } from "node:fs";
import { SysError } from "../sys/errors";
import { formatIpv4 } from "./ipv4";

export interface HostRoute {
  device: string;
  /** Network address, dotted quad. */
  destination: string;
  prefix: number;
}

/** A /proc/net/route hex field (host byte order on little-endian machines) as a number. */
function leHex(hex: string): number {
  const n = parseInt(hex, 16);
  return (((n & 0xff) << 24) | ((n >>> 8) & 0xff) << 16 | ((n >>> 16) & 0xff) << 8 | (n >>> 24)) >>> 0;
}

function bits(mask: number): number {
  let count = 0;
  for (let m = mask; m !== 0; m = (m << 1) >>> 0) count++;
  return count;
}

/** Parses /proc/net/route text. The default route (0.0.0.0/0) is included; callers skip it. */
export function parseRoutes(text: string): HostRoute[] {
  const out: HostRoute[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const dest = leHex(f[1]!);
    const mask = leHex(f[7]!);
    out.push({ device: f[0]!, destination: formatIpv4(dest), prefix: bits(mask) });
  }
  return out;
}

/** The routes of the calling process's network namespace. */
export function hostRoutes(): HostRoute[] {
  try {
    return parseRoutes(readFileSync("/proc/net/route", "utf8"));
  } catch (err) {
    throw SysError.fromNode(err, "read the host's routes");
  }
}

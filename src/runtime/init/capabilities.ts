// The process's capabilities: the bounding set (dropped first, while CAP_SETPCAP is still held),
// then the effective, permitted and inheritable sets and the ambient set for the program.
import * as libc from "../../sys/libc";
import { CAPABILITIES, PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, PR_CAP_AMBIENT_RAISE } from "../../sys/constants";
import { ValidationError } from "../../sys/errors";
import type { CapabilitiesSpec } from "../spec";

/** Capability numbers 0..lastCap that `keep` lacks: what PR_CAPBSET_DROP must remove. */
export function capsToDrop(keep: bigint, lastCap: number): number[] {
  const out: number[] = [];
  for (let cap = 0; cap <= lastCap; cap++) if ((keep & (1n << BigInt(cap))) === 0n) out.push(cap);
  return out;
}

/**
 * Ambient capabilities the kernel would refuse to raise (not in both permitted and inheritable):
 * dropped with a warning, as runc does, so `runc spec`'s default config (ambient, no inheritable)
 * runs the same.
 */
export function raisableAmbient(caps: CapabilitiesSpec | undefined, warn: (message: string) => void): string[] {
  const permitted = new Set(caps?.permitted ?? []);
  const inheritable = new Set(caps?.inheritable ?? []);
  const out: string[] = [];
  for (const name of caps?.ambient ?? []) {
    if (permitted.has(name) && inheritable.has(name)) out.push(name);
    else warn(`process.capabilities.ambient: ${name} is not in both the permitted and inheritable sets; not raised`);
  }
  return out;
}

/** Drops every capability not in the spec's bounding set from this thread's bounding set. */
export function dropBoundingSet(caps: CapabilitiesSpec | undefined, lastCap: number): void {
  for (const cap of capsToDrop(libc.capMask(caps?.bounding ?? [], "process.capabilities.bounding"), lastCap)) libc.prctl(PR_CAPBSET_DROP, cap);
}

/** Sets effective, permitted and inheritable as the spec says, and the ambient set to exactly `ambient`. */
export function setCapabilities(caps: CapabilitiesSpec | undefined, ambient: readonly string[]): void {
  libc.capset({
    effective: libc.capMask(caps?.effective ?? [], "process.capabilities.effective"),
    permitted: libc.capMask(caps?.permitted ?? [], "process.capabilities.permitted"),
    inheritable: libc.capMask(caps?.inheritable ?? [], "process.capabilities.inheritable"),
  });
  libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL);
  for (const name of ambient) {
    const cap = CAPABILITIES[name];
    if (cap === undefined) throw new ValidationError("process.capabilities.ambient", `unknown capability ${name}`, "use the CAP_* names of capabilities(7)");
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap);
  }
}

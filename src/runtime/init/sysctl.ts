// The spec's sysctls, written through the container's own /proc (after pivot_root, so each lands
// in the container's namespaces; validateSpec only lets namespaced keys through).
import { writeFileSync } from "node:fs";
import { step } from "./steps";
import type { ContainerSpec } from "../spec";

/** The file behind a sysctl key: "net.ipv4.ip_forward" is /proc/sys/net/ipv4/ip_forward. */
export function sysctlPath(key: string): string {
  return `/proc/sys/${key.replace(/\./g, "/")}`;
}

export function applySysctls(spec: ContainerSpec): void {
  for (const [key, value] of Object.entries(spec.linux?.sysctl ?? {})) {
    step(`sysctl ${key}`, () => writeFileSync(sysctlPath(key), value));
  }
}

// The device rules a container's cgroup gets, as runc builds them (libcontainer/specconv): the spec's
// linux.resources.devices in order, then runc's default allow list, so every container starts from
// "deny all" (runc's emulator starts there) and keeps the nodes every program expects. Docker sends
// {allow: false, access: "rwm"} first and relies on this list; hostform's Container does the same.
import { validateDeviceRules, type DeviceRule } from "../cgroup/devicePolicy";
import { ValidationError } from "../sys/errors";
import type { ContainerSpec } from "./spec";

/** One default: a rule, and the node path it stands for (a linux.devices entry of that path replaces it). */
interface AllowedDevice {
  path?: string;
  rule: DeviceRule;
}

const rwm = (major: number, minor?: number): DeviceRule => ({ allow: true, type: "c", major, ...(minor !== undefined ? { minor } : {}), access: "rwm" });

/** runc's AllowedDevices: mknod of any node, the standard character devices, ptys, tun. */
const ALLOWED_DEVICES: readonly AllowedDevice[] = [
  { rule: { allow: true, type: "c", access: "m" } },
  { rule: { allow: true, type: "b", access: "m" } },
  { path: "/dev/null", rule: rwm(1, 3) },
  { path: "/dev/random", rule: rwm(1, 8) },
  { path: "/dev/full", rule: rwm(1, 7) },
  { path: "/dev/tty", rule: rwm(5, 0) },
  { path: "/dev/zero", rule: rwm(1, 5) },
  { path: "/dev/urandom", rule: rwm(1, 9) },
  // /dev/pts/* (the container's own devpts instance) and /dev/ptmx.
  { rule: rwm(136) },
  { rule: rwm(5, 2) },
  // /dev/net/tun: runc dropped it in 1.2.0-rc1 and restored it after the regressions that caused.
  { rule: rwm(10, 200) },
];

/** Deny everything, then runc's default list: the policy of every hostform Container. */
export function defaultDeviceRules(): DeviceRule[] {
  return [{ allow: false, type: "a", access: "rwm" }, ...ALLOWED_DEVICES.map((d) => ({ ...d.rule }))];
}

/**
 * The rules runc gives a spec's cgroup: linux.resources.devices (each must name its access, as runc
 * requires), then the defaults whose path linux.devices does not list. Errors name the spec field.
 */
export function ociDeviceRules(spec: ContainerSpec): DeviceRule[] {
  const resources = spec.linux?.resources;
  const declared = typeof resources === "object" && resources !== null ? (resources as Record<string, unknown>).devices : undefined;
  const field = "linux.resources.devices";
  if (declared !== undefined && declared !== null && !Array.isArray(declared)) throw new ValidationError(field, "must be a list of device rules");
  const rules = (declared ?? []) as unknown[];
  rules.forEach((r, i) => {
    const access = typeof r === "object" && r !== null ? (r as Record<string, unknown>).access : undefined;
    if (access === undefined || access === "") throw new ValidationError(`${field}[${i}].access`, "must not be empty", 'give the access letters, e.g. "rwm"');
  });
  const ownPaths = new Set((spec.linux?.devices ?? []).map((d) => d.path));
  const defaults = ALLOWED_DEVICES.filter((d) => d.path === undefined || !ownPaths.has(d.path)).map((d) => ({ ...d.rule }));
  return [...validateDeviceRules(rules, field, undefined), ...defaults];
}

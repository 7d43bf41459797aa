// A declaration's host devices ({ path: "/dev/fuse", permissions: "rwm", containerPath? }): each is the
// host's node, looked up now, created in the container (linux.devices) and allowed in its cgroup after
// the default policy (Docker's --device). Errors name devices[i] and the fix.
import { statSync } from "node:fs";
import { isAbsolute } from "node:path";
import type { DeviceRule } from "../../cgroup/devicePolicy";
import { ValidationError, hasCode } from "../../sys/errors";
import { defaultDeviceRules } from "../deviceRules";
import type { DeviceSpec } from "../specDevices";
import type { ContainerDevice } from "./config";

/** A declared device, resolved against the host: the node to create and the rule that allows it. */
export interface ResolvedDevice {
  node: DeviceSpec;
  rule: DeviceRule;
}

const KEYS = ["path", "permissions", "containerPath"];

function permissionsOf(v: unknown, field: string): string {
  const hint = 'use letters r (read), w (write) and m (mknod), e.g. "rwm" or "rw"';
  if (v === undefined || v === null) return "rwm";
  if (typeof v !== "string" || v === "" || [...v].some((c) => !"rwm".includes(c))) throw new ValidationError(field, `${JSON.stringify(v)} is not a set of device permissions`, hint);
  return [..."rwm"].filter((c) => v.includes(c)).join("");
}

/** The host node at path: its type, numbers, mode and owner. */
function hostNode(path: string, field: string): Omit<DeviceSpec, "path"> {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    if (hasCode(err, "ENOENT") || hasCode(err, "ENOTDIR")) throw new ValidationError(field, `${path} does not exist on this host`, "give the path of a device node under /dev, e.g. /dev/fuse");
    throw err;
  }
  if (!st.isCharacterDevice() && !st.isBlockDevice()) throw new ValidationError(field, `${path} is not a device node`, "give a character or block device, e.g. /dev/fuse (ls -l shows c or b)");
  // glibc's dev_t: major in bits 8-19 (and 32-43), minor in bits 0-7 and 20-31.
  const rdev = BigInt(st.rdev);
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return { type: st.isBlockDevice() ? "b" : "c", major, minor, fileMode: st.mode & 0o777, uid: st.uid, gid: st.gid };
}

/** Checks and resolves the declared devices against this host. */
export function resolveDevices(input: unknown, field = "devices"): ResolvedDevice[] {
  if (input === undefined || input === null) return [];
  if (!Array.isArray(input)) throw new ValidationError(field, "must be a list of devices", '[{ path: "/dev/fuse" }]');
  return input.map((d: unknown, i: number) => {
    const f = `${field}[${i}]`;
    if (typeof d !== "object" || d === null || Array.isArray(d)) throw new ValidationError(f, "must be an object with a path", '{ path: "/dev/fuse", permissions: "rwm" }');
    const o = d as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!KEYS.includes(k)) throw new ValidationError(`${f}.${k}`, `unknown device field "${k}"`, `known: ${KEYS.join(", ")}`);
    if (typeof o.path !== "string" || !isAbsolute(o.path)) throw new ValidationError(`${f}.path`, `${JSON.stringify(o.path)} is not an absolute path`, "give the host's device node, e.g. /dev/fuse");
    const target = o.containerPath ?? o.path;
    if (typeof target !== "string" || !isAbsolute(target)) throw new ValidationError(`${f}.containerPath`, `${JSON.stringify(target)} is not an absolute path`, "give the path inside the container, e.g. /dev/fuse");
    const access = permissionsOf(o.permissions, `${f}.permissions`);
    const node = hostNode(o.path, `${f}.path`);
    const rule: DeviceRule = { allow: true, type: node.type === "b" ? "b" : "c", major: node.major, minor: node.minor, access };
    return { node: { path: target, ...node }, rule };
  });
}

/** The cgroup rules of a Container: deny all, runc's default list, then each declared device. */
export function containerDeviceRules(devices: readonly ContainerDevice[] | undefined): DeviceRule[] {
  return [...defaultDeviceRules(), ...resolveDevices(devices).map((d) => d.rule)];
}

// linux.devices of an OCI spec: device nodes the runtime creates in the container's /dev (runc makes
// them with mknod, or bind-mounts the host's node where mknod is not allowed). Creating a node does
// not allow it: linux.resources.devices must, as in runc.
import { isAbsolute, normalize } from "node:path";
import { ValidationError } from "../sys/errors";

/** One linux.devices entry. */
export interface DeviceSpec {
  /** Absolute path inside the container. */
  path: string;
  /** "c" or "u" (character), "b" (block), "p" (fifo). */
  type: "c" | "u" | "b" | "p";
  major: number;
  minor: number;
  /** Permission bits (default 0666). */
  fileMode?: number;
  uid?: number;
  gid?: number;
}

const KEYS = ["path", "type", "major", "minor", "fileMode", "uid", "gid"];

function intIn(v: unknown, field: string, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) throw new ValidationError(field, `must be an integer from 0 to ${max}, got ${JSON.stringify(v)}`);
  return v;
}

/** Checks linux.devices; errors name linux.devices[i].<field>. */
export function validateDeviceSpecs(v: unknown): DeviceSpec[] {
  if (!Array.isArray(v)) throw new ValidationError("linux.devices", "must be an array");
  return v.map((d: unknown, i: number) => {
    const f = `linux.devices[${i}]`;
    if (typeof d !== "object" || d === null || Array.isArray(d)) throw new ValidationError(f, "must be an object with path, type, major and minor");
    const o = d as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!KEYS.includes(k)) throw new ValidationError(`${f}.${k}`, "is not supported by hostform", "remove the field");
    if (typeof o.path !== "string" || !isAbsolute(o.path)) throw new ValidationError(`${f}.path`, `${JSON.stringify(o.path)} is not an absolute path`, "give the node's path inside the container, e.g. /dev/fuse");
    if (normalize(o.path).split("/").includes("..") || normalize(o.path) === "/") throw new ValidationError(`${f}.path`, `'${o.path}' is not a file path inside the container`);
    if (o.type !== "c" && o.type !== "u" && o.type !== "b" && o.type !== "p") throw new ValidationError(`${f}.type`, `${JSON.stringify(o.type)} is not a device type`, 'use "c" (character), "b" (block) or "p" (fifo)');
    const out: DeviceSpec = { path: normalize(o.path), type: o.type, major: 0, minor: 0 };
    if (o.type !== "p" || o.major !== undefined) out.major = intIn(o.major, `${f}.major`, 4095);
    if (o.type !== "p" || o.minor !== undefined) out.minor = intIn(o.minor, `${f}.minor`, 1048575);
    if (o.fileMode !== undefined) out.fileMode = intIn(o.fileMode, `${f}.fileMode`, 0o177777);
    if (o.uid !== undefined) out.uid = intIn(o.uid, `${f}.uid`, 0xfffffffe);
    if (o.gid !== undefined) out.gid = intIn(o.gid, `${f}.gid`, 0xfffffffe);
    return out;
  });
}

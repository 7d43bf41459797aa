// A declaration's mounts: bind mounts from host paths (the default when the source is absolute),
// other filesystems by type, each replacing a default mount at the same destination.
import { existsSync } from "node:fs";
import { isAbsolute } from "node:path";
import { ValidationError } from "../../sys/errors";
import { validateMount, type MountSpec } from "../spec";
import type { ContainerMount, NameFiles } from "./config";

/** One declared mount as the spec has it; errors name `mounts[i]`. A bind source must exist on the host. */
export function mountSpecOf(m: ContainerMount, i: number): MountSpec {
  const f = `mounts[${i}]`;
  if (typeof m !== "object" || m === null) throw new ValidationError(f, "must be an object with a destination");
  const options = [...(m.options ?? [])];
  const bind = m.type === "bind" || (m.type === undefined && typeof m.source === "string" && isAbsolute(m.source));
  if (bind) {
    if (!options.includes("bind") && !options.includes("rbind")) options.unshift("rbind");
    if (typeof m.source === "string" && isAbsolute(m.source) && !existsSync(m.source)) {
      throw new ValidationError(`${f}.source`, `'${m.source}' does not exist on the host`, "create it first or fix the path");
    }
  }
  if (m.readonly === true && !options.includes("ro")) options.push("ro");
  if (m.idmap === true && !options.includes("idmap") && !options.includes("ridmap")) options.push(options.includes("rbind") ? "ridmap" : "idmap");
  const out: Record<string, unknown> = { destination: m.destination, options };
  const type = bind ? "bind" : m.type;
  if (type !== undefined) out.type = type;
  if (m.source !== undefined) out.source = m.source;
  else if (type !== undefined && !bind) out.source = type;
  return validateMount(out, f);
}

/** The defaults with the declared mounts; a declared mount replaces a default one at the same place (e.g. a bigger /dev/shm). */
export function withDeclaredMounts(defaults: readonly MountSpec[], declared: ContainerMount[] | undefined): MountSpec[] {
  if (declared === undefined || declared === null) return [...defaults];
  if (!Array.isArray(declared)) throw new ValidationError("mounts", "must be a list of mounts");
  const mine = declared.map((m, i) => mountSpecOf(m, i));
  return [...defaults.filter((d) => !mine.some((m) => m.destination === d.destination)), ...mine];
}

/**
 * Bind mounts of the name files over the rootfs's /etc copies; a declared mount at one of those
 * places still wins (withDeclaredMounts replaces by destination), as with Docker.
 */
export function nameFileMounts(files: NameFiles | undefined): MountSpec[] {
  if (files === undefined || files === null) return [];
  return [
    { destination: "/etc/hosts", source: files.hosts },
    { destination: "/etc/hostname", source: files.hostname },
    { destination: "/etc/resolv.conf", source: files.resolvConf },
  ].map((m) => ({ ...m, type: "bind", options: ["rbind", "rprivate"] }));
}

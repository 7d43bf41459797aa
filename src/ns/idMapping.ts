// Id mappings, as /proc/<pid>/uid_map and gid_map hold them and the OCI spec writes them
// (linux.uidMappings): checked as the kernel checks a map when it is written, so that a bad one is
// an error naming its field, not an EINVAL from deep inside a spawn.
import { ValidationError } from "../sys/errors";

/** One line of a uid_map or gid_map: containerID..containerID+size-1 are hostID..hostID+size-1. */
export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/** Extents one map may have (linux/user_namespace.h, UID_GID_MAP_MAX_EXTENTS). */
const MAX_EXTENTS = 340;
const ID_LIMIT = 2 ** 32;

function requireId(v: unknown, f: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= ID_LIMIT) throw new ValidationError(f, `${JSON.stringify(v)} is not an id (an integer from 0 to 4294967295)`);
  return v;
}

/** Checks one of linux.uidMappings / linux.gidMappings (`f` names it). */
export function validateIdMappings(v: unknown, f: string): IdMapping[] {
  if (!Array.isArray(v) || v.length === 0) throw new ValidationError(f, "must be a non-empty array of {containerID, hostID, size}");
  if (v.length > MAX_EXTENTS) throw new ValidationError(f, `has ${v.length} entries; the kernel takes at most ${MAX_EXTENTS}`);
  const out = v.map((m: unknown, i: number): IdMapping => {
    const e = `${f}[${i}]`;
    if (typeof m !== "object" || m === null || Array.isArray(m)) throw new ValidationError(e, "must be an object {containerID, hostID, size}");
    const o = m as Record<string, unknown>;
    const mapping = { containerID: requireId(o.containerID, `${e}.containerID`), hostID: requireId(o.hostID, `${e}.hostID`), size: requireId(o.size, `${e}.size`) };
    if (mapping.size === 0) throw new ValidationError(`${e}.size`, "must be at least 1");
    if (mapping.containerID + mapping.size > ID_LIMIT || mapping.hostID + mapping.size > ID_LIMIT) throw new ValidationError(`${e}.size`, "runs past id 4294967295");
    return mapping;
  });
  // The kernel refuses a map whose ranges overlap on either side.
  for (const side of ["containerID", "hostID"] as const) {
    const sorted = out.map((m, i) => ({ m, i })).sort((a, b) => a.m[side] - b.m[side]);
    for (let k = 1; k < sorted.length; k++) {
      const prev = sorted[k - 1]!;
      const cur = sorted[k]!;
      if (prev.m[side] + prev.m.size > cur.m[side]) throw new ValidationError(`${f}[${cur.i}].${side}`, `overlaps ${f}[${prev.i}]`, "give each entry its own range");
    }
  }
  return out;
}

/** The text of /proc/<pid>/uid_map (or gid_map) for these mappings. */
export function idMapText(mappings: readonly IdMapping[]): string {
  return mappings.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join("");
}

/** Parses /proc/<pid>/uid_map (or gid_map) text. */
export function parseIdMap(text: string): IdMapping[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .map((l) => {
      const [containerID, hostID, size] = l.split(/\s+/).map(Number);
      return { containerID: containerID!, hostID: hostID!, size: size! };
    });
}

/** The host id a container id maps to, or undefined when it is not mapped. */
export function hostIdOf(mappings: readonly IdMapping[], containerId: number): number | undefined {
  const m = mappings.find((x) => containerId >= x.containerID && containerId < x.containerID + x.size);
  return m === undefined ? undefined : m.hostID + (containerId - m.containerID);
}


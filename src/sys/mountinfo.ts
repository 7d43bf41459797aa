// The one reader of /proc/<pid>/mountinfo (proc(5)):
//   "<id> <parent> <maj:min> <root> <mount point> <options> [optional...] - <fstype> <source> <super options>"
// Paths are octal-escaped by the kernel (space, tab, newline and backslash as \ooo).
import { readFileSync } from "node:fs";
import { SysError } from "./errors";

/** One mount as mountinfo lists it. */
export interface MountInfo {
  id: number;
  parentId: number;
  /** Path within the filesystem that forms this mount's root ("/" for a whole filesystem). */
  root: string;
  mountPoint: string;
  /** Per-mount options ("rw,nosuid,relatime"). */
  options: string[];
  /** Optional fields: "shared:N", "master:N", "propagate_from:N", "unbindable". */
  optional: string[];
  fstype: string;
  source: string;
  /** Per-superblock options; for a v1 cgroup these name its controllers. */
  superOptions: string[];
}

/** Decodes mountinfo's \ooo escapes. */
function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses mountinfo text; lines that are not mount entries are skipped. */
export function parseMountinfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const [id, parentId, , root, mountPoint, options, ...optional] = line.slice(0, sep).split(" ");
    const [fstype, source, superOptions] = line.slice(sep + 3).split(" ");
    if (id === undefined || parentId === undefined || root === undefined || mountPoint === undefined || fstype === undefined) continue;
    out.push({
      id: Number(id),
      parentId: Number(parentId),
      root: unescapeMountPath(root),
      mountPoint: unescapeMountPath(mountPoint),
      options: (options ?? "").split(","),
      optional,
      fstype,
      source: unescapeMountPath(source ?? ""),
      superOptions: (superOptions ?? "").split(","),
    });
  }
  return out;
}

/** The mounts of a process (default: this one), as its mount namespace sees them. */
export function readMountinfo(pid: number | "self" = "self"): MountInfo[] {
  const path = `/proc/${pid}/mountinfo`;
  try {
    return parseMountinfo(readFileSync(path, "utf8"));
  } catch (err) {
    throw SysError.fromNode(err, `read the mount table`);
  }
}

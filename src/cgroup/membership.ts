// Which cgroups a process lives in, and moving a process into cgroups: the one place that reads
// /proc/<pid>/cgroup and writes cgroup.procs.
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { NotFoundError, SysError, hasCode } from "../sys/errors";
import { fileError } from "./cgroupfs";
import { detectLayout, type CgroupLayout } from "./layout";

/** One line of /proc/<pid>/cgroup: hierarchy id (0 = cgroup2), its controllers ("" for cgroup2 and named ones), the path. */
export interface CgroupMembership {
  hierarchyId: number;
  controllers: string[];
  /** name=systemd and the like: named v1 hierarchies without a controller. */
  name?: string;
  path: string;
}

/** Parses /proc/<pid>/cgroup text. */
export function parseProcCgroup(text: string): CgroupMembership[] {
  const out: CgroupMembership[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (m === null) continue;
    const words = (m[2] ?? "").split(",").filter((w) => w !== "");
    const entry: CgroupMembership = { hierarchyId: Number(m[1]), controllers: words.filter((w) => !w.startsWith("name=")), path: m[3] ?? "/" };
    const named = words.find((w) => w.startsWith("name="));
    if (named !== undefined) entry.name = named.slice("name=".length);
    out.push(entry);
  }
  return out;
}

/** The cgroups of a process (default: this one). A process that is gone is a NotFoundError. */
export function cgroupsOf(pid: number | "self" = "self"): CgroupMembership[] {
  try {
    return parseProcCgroup(readFileSync(`/proc/${pid}/cgroup`, "utf8"));
  } catch (err) {
    if (typeof pid === "number" && (hasCode(err, "ENOENT") || hasCode(err, "ESRCH"))) throw new NotFoundError("process", String(pid));
    throw SysError.fromNode(err, `read the cgroups of process ${pid}`);
  }
}

/**
 * The host directory of every cgroup the process lives in that hostform's layout mounts (cgroup2
 * and v1 controllers; named hierarchies such as name=systemd are left alone), read from the host
 * side, so the paths are host paths whatever cgroup namespace the process has.
 */
export function cgroupDirsOf(pid: number, layout: CgroupLayout = detectLayout()): string[] {
  const out: string[] = [];
  for (const m of cgroupsOf(pid)) {
    const mount = m.hierarchyId === 0 ? layout.unifiedMount : m.controllers.map((c) => layout.v1Mounts[c]).find((x) => x !== undefined);
    if (mount !== undefined) out.push(join(mount, m.path));
  }
  return out;
}

/**
 * Moves pid into each cgroup directory. A write to cgroup.procs blocks for an RCU grace period
 * (~10 ms here, once per hierarchy): the writes go to the thread pool all at once, so the caller's
 * event loop keeps serving meanwhile instead of stalling ~25 ms per process.
 */
export async function moveIntoCgroups(dirs: Iterable<string>, pid: number): Promise<void> {
  await Promise.all(
    [...new Set(dirs)].map(async (dir) => {
      const file = join(dir, "cgroup.procs");
      try {
        await writeFile(file, String(pid));
      } catch (err) {
        throw fileError(err, file, `move process ${pid} into cgroup ${dir}`);
      }
    }),
  );
}

/** A cgroup given as its directory or its cgroup.procs file (as runc's exec takes it) -> the directory. */
export function cgroupDirOf(path: string): string {
  return basename(path) === "cgroup.procs" ? dirname(path) : path;
}

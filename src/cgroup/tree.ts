// Cgroup directories under the driver's parent: name checking, creation along a path, and removal
// deepest first. Shared by both versions' managers; knows nothing about controllers.
import { mkdirSync, readdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { SysError, ValidationError, hasCode } from "../sys/errors";

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.@:-]*$/;

/**
 * Splits a cgroup name ("web" or nested "pod/ctr") into segments, refusing anything that could climb
 * out of hostform's parent or collide with kernel files ("..", "/x", "cgroup.procs").
 */
export function cgroupSegments(name: string, field = "name"): string[] {
  const hint = 'use letters, digits, "_", "-", ".", "@", ":" and "/" between nested levels, e.g. "pod/web"';
  if (typeof name !== "string" || name === "") throw new ValidationError(field, "a cgroup name is required", hint);
  const segs = name.split("/");
  for (const s of segs) {
    if (!SEGMENT.test(s) || s.length > 200) throw new ValidationError(field, `"${name}" is not a valid cgroup name`, hint);
    // cgroupfs files are "<controller>.<file>"; a child named like one collides with it.
    if (/^(cgroup|memory|cpu|cpuacct|cpuset|pids|io|blkio|freezer|devices|hugetlb|misc|rdma|net_cls|net_prio|perf_event)\./.test(s) || /^(tasks|notify_on_release|release_agent)$/.test(s)) {
      throw new ValidationError(field, `"${s}" collides with a cgroupfs file name`, hint);
    }
  }
  return segs;
}

/**
 * Directory of a cgroup in one hierarchy: <mount>/<segments>. The driver puts its parent first
 * (hostform's own, or none for an OCI linux.cgroupsPath, which is absolute from the root).
 */
export function cgroupDir(mount: string, segments: string[]): string {
  return join(mount, ...segments);
}

/**
 * Creates every level of segments under mount (the driver's parent is the first ones), calling visit(dir, parentDir) on
 * each level from the parent down (existing or new, so a half-made tree is repaired). Returns the
 * directories it created, outermost first.
 */
export function makeCgroupPath(mount: string, segments: string[], visit?: (dir: string, parentDir: string) => void): string[] {
  const created: string[] = [];
  let parent = mount;
  for (const seg of segments) {
    const dir = join(parent, seg);
    try {
      mkdirSync(dir);
      created.push(dir);
    } catch (err) {
      if (!hasCode(err, "EEXIST")) throw SysError.fromNode(err);
    }
    visit?.(dir, parent);
    parent = dir;
  }
  return created;
}

/** dir and every cgroup below it, deepest first. A missing dir gives an empty list. */
export function subtreeDeepestFirst(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if (hasCode(err, "ENOENT")) return [];
    throw SysError.fromNode(err);
  }
  const out: string[] = [];
  for (const e of entries) if (e.isDirectory()) out.push(...subtreeDeepestFirst(join(dir, e.name)));
  out.push(dir);
  return out;
}

/**
 * Removes dir and its child cgroups, deepest first. rmdir of a cgroup fails with EBUSY while a task
 * (even a zombie not yet reaped from it) is charged to it, so EBUSY is retried with a back-off
 * bounded by timeoutMs. A directory already gone is success.
 */
export async function removeCgroupTree(dir: string, timeoutMs = 5000): Promise<void> {
  for (const d of subtreeDeepestFirst(dir)) {
    const deadline = Date.now() + timeoutMs;
    for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
      try {
        rmdirSync(d);
        break;
      } catch (err) {
        if (hasCode(err, "ENOENT")) break;
        if (!hasCode(err, "EBUSY") || Date.now() >= deadline) throw SysError.fromNode(err);
      }
      await sleep(wait);
    }
  }
}

/** Waits with a growing back-off until done() holds or timeoutMs passes; returns whether it held. */
export async function waitFor(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 2; ; wait = Math.min(wait * 2, 100)) {
    if (done()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(wait);
  }
}

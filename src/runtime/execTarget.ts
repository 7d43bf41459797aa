// Finding the running container an exec joins: a pidfd that is provably the container's PID 1
// (not a process that reused its pid), and the cgroups it lives in.
import { closeSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import * as libc from "../sys/libc";
import { HostformError, SysError, hasCode } from "../sys/errors";
import { detectLayout } from "../cgroup/layout";

/** The container is not running (its PID 1 is gone, or the pid now belongs to another process). */
export class ContainerNotRunningError extends HostformError {
  constructor(readonly pid: number, reason: string) {
    super(`container is not running: pid ${pid} ${reason}`);
  }
}

/**
 * Start time of a process in clock ticks since boot (/proc/<pid>/stat field 22): with the pid it
 * names one process for the life of the machine. Throws ContainerNotRunningError when it is gone.
 */
export function readPidStartTime(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch (err) {
    if (hasCode(err, "ENOENT") || hasCode(err, "ESRCH")) throw new ContainerNotRunningError(pid, "does not exist");
    throw SysError.fromNode(err, "read process start time");
  }
  // comm (field 2) may contain spaces and parentheses: count fields after its closing ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // A zombie still answers signals and has a start time, but no namespaces left to join.
  if (fields[0] === "Z" || fields[0] === "X") throw new ContainerNotRunningError(pid, "has exited");
  return Number(fields[22 - 3]);
}

/**
 * Opens a pidfd for pid and proves it is the process that started at startTime: the pidfd is
 * opened first, so a later match of the start time means the pidfd holds that very process.
 */
export function openVerifiedPidfd(pid: number, startTime?: number): number {
  let pidfd: number;
  try {
    pidfd = libc.pidfdOpen(pid);
  } catch (err) {
    if (hasCode(err, "ESRCH")) throw new ContainerNotRunningError(pid, "does not exist");
    throw err;
  }
  try {
    const now = readPidStartTime(pid);
    if (startTime !== undefined) {
      if (now !== startTime) throw new ContainerNotRunningError(pid, `belongs to another process (start time ${now}, expected ${startTime})`);
    }
    assertAlive(pidfd, pid);
    return pidfd;
  } catch (err) {
    closeSync(pidfd);
    throw err;
  }
}

/** Throws ContainerNotRunningError when the process behind pidfd has exited. */
export function assertAlive(pidfd: number, pid: number): void {
  try {
    libc.pidfdSendSignal(pidfd, 0);
  } catch (err) {
    if (hasCode(err, "ESRCH")) throw new ContainerNotRunningError(pid, "has exited");
    throw err;
  }
}

/** Parses /proc/<pid>/cgroup: hierarchy controllers ("" for cgroup2) -> path. */
function cgroupMembership(pid: number | "self"): Map<string, string> {
  const out = new Map<string, string>();
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/cgroup`, "utf8");
  } catch (err) {
    if (typeof pid === "number" && hasCode(err, "ENOENT")) throw new ContainerNotRunningError(pid, "does not exist");
    throw SysError.fromNode(err, "read cgroup membership");
  }
  for (const line of text.split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m !== null) out.set(m[1]!, m[2]!);
  }
  return out;
}

/**
 * The cgroup.procs files of every cgroup the process lives in that the caller can write, in each
 * mounted hierarchy (cgroup2 and v1 controllers; named hierarchies such as name=systemd are left
 * alone). Read from the host side, so the paths are host paths whatever cgroup namespace it has.
 */
export function cgroupProcsFilesOf(pid: number): string[] {
  const layout = detectLayout();
  const out: string[] = [];
  for (const [controllers, path] of cgroupMembership(pid)) {
    let mount: string | undefined;
    if (controllers === "") mount = layout.unifiedMount;
    else mount = controllers.split(",").map((c) => layout.v1Mounts[c]).find((m) => m !== undefined);
    if (mount === undefined) continue;
    out.push(join(mount, path, "cgroup.procs"));
  }
  return out;
}

/** A cgroup given as its directory or its cgroup.procs file -> the cgroup.procs file. */
export function procsFile(path: string): string {
  try {
    return statSync(path).isDirectory() ? join(path, "cgroup.procs") : path;
  } catch (err) {
    throw SysError.fromNode(err, "cgroup of the container");
  }
}

// Finding the running container an exec joins: a pidfd that is provably the container's PID 1
// (not a process that reused its pid), and the cgroups it lives in.
import { closeSync, readFileSync, readlinkSync } from "node:fs";
import * as libc from "../sys/libc";
import { HostformError, SysError, hasCode, registerErrorClass } from "../sys/errors";

/** The container is not running (its PID 1 is gone, or the pid now belongs to another process). */
export class ContainerNotRunningError extends HostformError {
  constructor(readonly pid: number, reason: string) {
    super(`container is not running: pid ${pid} ${reason}`);
  }
}
registerErrorClass(ContainerNotRunningError);

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

/**
 * True when the container lives in a user namespace other than this process's: an exec into it
 * must be made in that namespace too, or its process would be root of the host.
 */
export function hasOwnUserNamespace(pidfd: number, pid: number): boolean {
  let theirs: string;
  try {
    theirs = readlinkSync(`/proc/${pid}/ns/user`);
  } catch (err) {
    if (hasCode(err, "ENOENT") || hasCode(err, "ESRCH")) throw new ContainerNotRunningError(pid, "does not exist");
    throw SysError.fromNode(err, "read the container's user namespace");
  }
  // Read through the pid: prove it was still the pidfd's process.
  assertAlive(pidfd, pid);
  return theirs !== readlinkSync("/proc/self/ns/user");
}

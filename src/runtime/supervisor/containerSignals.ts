// Signals to a container's processes: its PID 1 through the pidfd when this supervisor started it
// (no pid reuse race), by pid and start time when it was adopted, and SIGKILL to its whole cgroup
// when a stop times out or a delete is forced.
import { SysError, TimeoutError, ValidationError, hasCode } from "../../sys/errors";
import * as libc from "../../sys/libc";
import { TERMINATING_SIGNALS, parseSignal, signalNumber } from "../../sys/signals";
import type { CgroupDriver } from "../../cgroup/driver";
import { isSameProcess } from "../state";
import type { ContainerRecord } from "./containerRecord";

/** How long a SIGKILLed PID 1 may take before its exit has been seen. */
const KILL_WAIT_MS = 10_000;

/** Sends sig to the container's PID 1, if it still has one. */
export function signalContainer(rec: ContainerRecord, sig: NodeJS.Signals): void {
  if (rec.launched !== undefined) {
    try {
      libc.pidfdSendSignal(rec.launched.pidfd, signalNumber(sig));
    } catch (err) {
      // Exited already, its exit not yet seen: nothing to signal.
      if (!hasCode(err, "ESRCH")) throw SysError.fromNode(err, `signal container ${rec.id}`);
    }
  } else {
    killRecordedProcess(rec.state.pid, rec.state.pidStartTime, sig);
  }
}

/** Signals a process recorded by pid and start time, only if it is still that process. */
export function killRecordedProcess(pid: number, startTime: number, sig: NodeJS.Signals): void {
  if (!(pid > 0 && isSameProcess(pid, startTime))) return;
  try {
    process.kill(pid, sig);
  } catch (err) {
    // It exited between the check and the kill: what the signal was for has happened.
    if (!hasCode(err, "ESRCH")) throw SysError.fromNode(err, `kill ${pid}`);
  }
}

/**
 * The `kill` request: a terminating signal counts as a stop by the user (no restart follows). A
 * container with no process says "container not running", runc's words, which containerd's shim
 * looks for to treat the kill as done (else it can never delete the task).
 */
export function killRequest(rec: ContainerRecord, signal: string): void {
  const sig = parseSignal(signal);
  if (rec.state.status !== "running" && rec.state.status !== "created") {
    throw new ValidationError("id", `container not running: ${rec.id} is ${rec.state.status}`, "only a created or running container can be signalled");
  }
  if (TERMINATING_SIGNALS.has(sig)) rec.stoppedByUser = true;
  signalContainer(rec, sig);
}

/** The stop signal, then after timeoutSeconds SIGKILL to the whole cgroup; resolves once PID 1's exit was seen. */
export async function stopContainer(rec: ContainerRecord, cgroups: CgroupDriver, timeoutSeconds: number): Promise<void> {
  if (rec.state.status !== "running" && rec.state.status !== "created") return;
  const exited = rec.waitExit(timeoutSeconds * 1000);
  signalContainer(rec, rec.state.stopSignal as NodeJS.Signals);
  if (!(await exited)) await killContainer(rec, cgroups);
}

/** SIGKILL to every process in the container's cgroup, then waits for PID 1's exit to be seen. */
export async function killContainer(rec: ContainerRecord, cgroups: CgroupDriver): Promise<void> {
  const exited = rec.waitExit(KILL_WAIT_MS);
  await cgroups.kill(rec.state.cgroup, "SIGKILL");
  // The cgroup may not hold PID 1 (e.g. it was moved out): signal it directly as well.
  signalContainer(rec, "SIGKILL");
  if (!(await exited)) throw new TimeoutError(`container ${rec.id}: SIGKILL of pid ${rec.state.pid}`, KILL_WAIT_MS, "its exit was never seen");
}

// start, state, kill, pause, resume and delete of hostform-runtime containers, each a short-lived
// process working from the record and the kernel, as runc's are. Errors use runc's words where
// clients parse them: containerd's shim treats "container not running" and "does not exist" from
// kill as done, and anything else as a failure that blocks the task's delete.
import { closeSync, constants as fsConstants, existsSync, openSync, rmSync, writeSync } from "node:fs";
import * as libc from "../../sys/libc";
import { CorruptFileError, HostformError, SysError, hasCode } from "../../sys/errors";
import { signalNumber } from "../../sys/signals";
import { waitFor } from "../../cgroup/tree";
import { openVerifiedPidfd } from "../execTarget";
import { runHooks } from "../hooks";
import { ociCgroups } from "./cgroupPath";
import { findOciRecord, hookState, initAlive, listOciIds, liveStatus, loadOciRecord, removeOciContainerDir, stateDocument, type OciRecord, type OciStateDocument, type OciStatus } from "./record";
import { execFifoPath, ociContainerDir } from "./root";

/** The container is not in a status the command works on; the message is runc's. */
export class ContainerStatusError extends HostformError {
  constructor(
    readonly id: string,
    readonly status: OciStatus,
    message: string,
  ) {
    super(message);
  }
}

export function ociStatus(root: string, rec: OciRecord): OciStatus {
  return liveStatus(root, rec, ociCgroups());
}

export function ociState(root: string, id: string): OciStateDocument {
  const rec = loadOciRecord(root, id);
  return stateDocument(rec, ociStatus(root, rec));
}

/** Every container under root; one whose record cannot be read is reported, never dropped silently. */
export function ociList(root: string): { containers: OciStateDocument[]; unreadable: Array<{ id: string; error: HostformError }> } {
  const containers: OciStateDocument[] = [];
  const unreadable: Array<{ id: string; error: HostformError }> = [];
  for (const id of listOciIds(root)) {
    try {
      const rec = findOciRecord(root, id);
      // A directory without a record is a create in progress (or one killed mid-way: delete --force clears it).
      if (rec !== undefined) containers.push(stateDocument(rec, ociStatus(root, rec)));
    } catch (err) {
      unreadable.push({ id, error: err instanceof HostformError ? err : SysError.fromNode(err, `read container ${id}`) });
    }
  }
  return { containers, unreadable };
}

/** Lets the waiting init exec the program: one byte on the exec fifo, which then goes. */
export function ociStart(root: string, id: string): OciRecord {
  const rec = loadOciRecord(root, id);
  const status = ociStatus(root, rec);
  if (status === "stopped") throw new ContainerStatusError(id, status, `cannot start a container that has stopped: ${id}`);
  if (status === "creating") throw new ContainerStatusError(id, status, `cannot start a container that is still being created: ${id}`);
  if (status !== "created") throw new ContainerStatusError(id, status, `cannot start an already running container: ${id}`);
  const fifoPath = execFifoPath(root, id);
  let fd: number;
  try {
    // Non-blocking: with no reader (the init died just now) open fails at once instead of hanging.
    fd = openSync(fifoPath, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
  } catch (err) {
    if (hasCode(err, "ENXIO")) throw new ContainerStatusError(id, "stopped", `cannot start a container that has stopped: ${id} (its init is gone)`);
    throw SysError.fromNode(err, `open ${fifoPath}`);
  }
  try {
    writeSync(fd, "0");
  } finally {
    closeSync(fd);
  }
  rmSync(fifoPath, { force: true });
  const hooks = rec.spec.hooks?.poststart;
  if (hooks !== undefined && hooks.length > 0) {
    try {
      // The state runc gives its poststart hooks says "created" still (it is read before the exec).
      runHooks("poststart", hooks, hookState(rec, "created", rec.pid));
    } catch (err) {
      // runc: a failed poststart hook takes the container down with it (gone already or not, the
      // hook's failure is the error to report).
      signalInit(rec, signalNumber("SIGKILL"));
      throw err;
    }
  }
  return rec;
}

/** Signals the init, or with `all` every process in the container's cgroup. */
export async function ociKill(root: string, id: string, signal: number, all: boolean): Promise<void> {
  const rec = loadOciRecord(root, id);
  const cgroups = ociCgroups();
  const status = ociStatus(root, rec);
  if (all) {
    // runc: with --all, a container whose processes are all gone is no failure.
    if (cgroups.exists(rec.cgroup)) await cgroups.kill(rec.cgroup, signal);
    return;
  }
  if (status === "stopped" || status === "creating") throw new ContainerStatusError(id, status, "container not running");
  if (!signalInit(rec, signal)) throw new ContainerStatusError(id, "stopped", "container not running");
  // A frozen process acts on nothing until thawed, SIGKILL included on cgroup v1 (runc thaws too).
  if (status === "paused" && signal === signalNumber("SIGKILL")) await cgroups.thaw(rec.cgroup);
}

/** Host pids of the container's processes (its cgroup's), for `ps`. */
export function ociPids(root: string, id: string): number[] {
  const rec = loadOciRecord(root, id);
  const cgroups = ociCgroups();
  if (!cgroups.exists(rec.cgroup)) return [];
  return cgroups.procs(rec.cgroup);
}

export async function ociPause(root: string, id: string): Promise<void> {
  const rec = loadOciRecord(root, id);
  const status = ociStatus(root, rec);
  if (status !== "running" && status !== "created") throw new ContainerStatusError(id, status, `container not running or created: ${status}`);
  await ociCgroups().freeze(rec.cgroup);
}

export async function ociResume(root: string, id: string): Promise<void> {
  const rec = loadOciRecord(root, id);
  const status = ociStatus(root, rec);
  if (status !== "paused") throw new ContainerStatusError(id, status, `container not paused`);
  await ociCgroups().thaw(rec.cgroup);
}

/**
 * Removes a stopped container (its cgroup, if create made it, and its directory); `force` kills a
 * live one first. An unknown id is an error without force and nothing with it (runc 1.1).
 * Returns the record, for poststop hooks; undefined when there was none.
 */
export async function ociDelete(root: string, id: string, force: boolean, warn: (message: string) => void = () => undefined): Promise<OciRecord | undefined> {
  let rec: OciRecord | undefined;
  try {
    rec = findOciRecord(root, id);
  } catch (err) {
    // A record that cannot be read: --force removes what is left of it, as runc does.
    if (!force || !(err instanceof CorruptFileError)) throw err;
    warn(`${err.message}; its directory is removed without knowing its process or cgroup`);
    removeOciContainerDir(root, id);
    return undefined;
  }
  if (rec === undefined) {
    // A directory without a record is a create that never got as far as its first record.
    if (existsSync(ociContainerDir(root, id))) removeOciContainerDir(root, id);
    else if (!force) loadOciRecord(root, id);
    return undefined;
  }
  const cgroups = ociCgroups();
  const status = ociStatus(root, rec);
  if (status !== "stopped") {
    if (!force) throw new ContainerStatusError(id, status, `cannot delete container ${id} that is not stopped: ${status} (stop it first, or use delete --force)`);
    if (!rec.ownsCgroup) await killInit(rec);
  }
  // Whatever is left in a cgroup of its own goes too, as runc's destroy does: processes a program
  // without its own pid namespace left behind, or the init of a create that was killed before it
  // recorded the pid (its record says pid 0).
  if (rec.ownsCgroup && cgroups.exists(rec.cgroup)) await cgroups.kill(rec.cgroup, "SIGKILL");
  if (rec.ownsCgroup) await cgroups.delete(rec.cgroup);
  removeOciContainerDir(root, id);
  // runc: poststop hooks run once the container is gone; their failures are only warnings.
  try {
    runHooks("poststop", rec.spec.hooks?.poststop, hookState(rec, "stopped"));
  } catch (err) {
    warn((err as Error).message);
  }
  return rec;
}

/**
 * Signals the recorded init through a pidfd proved to be that process (never a pid reused since);
 * false when it is gone.
 */
function signalInit(rec: OciRecord, signal: number): boolean {
  let pidfd: number;
  try {
    pidfd = openVerifiedPidfd(rec.pid, rec.pidStartTime);
  } catch (err) {
    if (!initAlive(rec)) return false;
    throw err;
  }
  try {
    libc.pidfdSendSignal(pidfd, signal);
    return true;
  } catch (err) {
    if (hasCode(err, "ESRCH")) return false;
    throw err;
  } finally {
    closeSync(pidfd);
  }
}

/** SIGKILL to the init alone (a cgroup shared with others is not emptied), then waits for it to die. */
async function killInit(rec: OciRecord): Promise<void> {
  if (signalInit(rec, signalNumber("SIGKILL"))) await waitFor(() => !initAlive(rec), 5000);
}

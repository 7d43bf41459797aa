// Runs in a worker thread of the executor (exec.ts). setns() into a running container's pid, net,
// uts, ipc and cgroup namespaces changes only this thread, and child_process.spawn forks from it,
// so each exec init is born inside the container (a process of its PID namespace) while the
// executor's main thread stays in the host's. The mount namespace is joined by the init itself.
import { spawn, type ChildProcess } from "node:child_process";
import { parentPort, workerData } from "node:worker_threads";
import type { Socket } from "node:net";
import { openSync } from "node:fs";
import * as libc from "../sys/libc";
import { SysError, errorToWire, type WireError } from "../sys/errors";
import { CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWUSER, CLONE_NEWUTS } from "../sys/constants";
import { type InitMessage } from "./initProtocol";
import { relayInit } from "./initRelay";
import { spawnThroughNsspawn, type NsspawnedInit } from "./nsspawn";

/** Namespaces the worker joins before spawning an exec init. */
export const EXEC_WORKER_NAMESPACES = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;

/** Main thread → worker. `targetPidfd` is a fd of the process (fd tables are per process). */
export type ExecWorkerRequest =
  /** channelFd: the target has a user namespace of its own; the init is spawned through nsspawn, this its fd channel. */
  | { op: "spawn"; id: number; targetPidfd: number; channelFd?: number }
  | { op: "send"; id: number; line: string }
  | { op: "kill"; id: number; signal: NodeJS.Signals };

/** Worker → main thread. */
export type ExecWorkerEvent =
  | { op: "spawned"; id: number; pid: number; adopted?: true }
  | { op: "spawnFailed"; id: number; message: string; error: WireError }
  | { op: "message"; id: number; message: InitMessage }
  | { op: "eof"; id: number }
  | { op: "exit"; id: number; code: number | null; signal: NodeJS.Signals | null };

export interface ExecWorkerData {
  initPath: string;
}

const data = workerData as ExecWorkerData;
const port = parentPort!;
const children = new Map<number, ChildProcess>();
const nsspawned = new Map<number, NsspawnedInit>();
const selfPidfd = libc.pidfdOpen(process.pid);
// The main thread's namespaces, to return to after each spawn: staying in the container's would
// make the next exec init of another container start inside this one.
const HOST_NS: ReadonlyArray<[number, string]> = [
  [CLONE_NEWPID, "pid"], [CLONE_NEWNET, "net"], [CLONE_NEWUTS, "uts"], [CLONE_NEWIPC, "ipc"], [CLONE_NEWCGROUP, "cgroup"],
];
const hostNsFds = HOST_NS.map(([flag, name]) => [flag, openSync(`/proc/self/ns/${name}`, "r")] as const);

function post(ev: ExecWorkerEvent): void {
  port.postMessage(ev);
}

/** A failed setns or fork, typed (SysError: errno, syscall) for the main thread. */
function spawnFailed(id: number, err: unknown): ExecWorkerEvent {
  const error = SysError.fromNode(err);
  return { op: "spawnFailed", id, message: error instanceof Error ? error.message : String(error), error: errorToWire(error) };
}

function spawnInit(id: number, targetPidfd: number): void {
  let child: ChildProcess;
  try {
    // One setns through the pidfd joins all five at once, or none.
    libc.setns(targetPidfd, EXEC_WORKER_NAMESPACES, "container namespaces");
    try {
      child = spawn(process.execPath, [data.initPath], {
        stdio: ["ignore", "ignore", "inherit", "pipe", selfPidfd, targetPidfd],
      });
    } finally {
      for (const [flag, fd] of hostNsFds) libc.setns(fd, flag, `host ${flag.toString(16)}`);
    }
  } catch (err) {
    post(spawnFailed(id, err));
    return;
  }
  if (child.pid === undefined) {
    // fork into a PID namespace whose init has died fails (ENOMEM): the container is stopping.
    child.once("error", (err) => post(spawnFailed(id, err)));
    return;
  }
  relayInit(id, child, child.pid, children, post);
}

/**
 * Into a container with a user namespace of its own: nsspawn joins its namespaces with the host's
 * credentials (a network namespace the host made can only be joined so), then its user namespace,
 * and clones the init there. The pidfd is the init's fd 5 as well (INIT_TARGET_PIDFD).
 */
function spawnInUserNamespace(id: number, targetPidfd: number, channelFd: number): void {
  const plan = { joins: [{ flags: EXEC_WORKER_NAMESPACES, fd: targetPidfd }, { flags: CLONE_NEWUSER, fd: targetPidfd }], unshare: 0, channelFd };
  spawnThroughNsspawn(id, plan, process.execPath, [data.initPath], nsspawned, post);
}

port.on("message", (req: ExecWorkerRequest) => {
  const child = children.get(req.id);
  const viaHelper = nsspawned.get(req.id);
  switch (req.op) {
    case "spawn":
      if (req.channelFd !== undefined) spawnInUserNamespace(req.id, req.targetPidfd, req.channelFd);
      else spawnInit(req.id, req.targetPidfd);
      break;
    case "send":
      ((child?.stdio[3] as Socket | undefined) ?? viaHelper?.socket)?.write(req.line);
      break;
    case "kill":
      child?.kill(req.signal);
      viaHelper?.kill(req.signal);
      break;
  }
});

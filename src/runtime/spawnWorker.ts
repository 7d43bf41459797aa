// Runs in a worker thread of the launcher. unshare() in a worker changes only that thread, and
// child_process.spawn from it forks from that thread, so each init is born in fresh namespaces
// (PID 1 of a new PID namespace) while the launcher's main thread stays in the host's.
import { spawn, type ChildProcess } from "node:child_process";
import { parentPort, workerData } from "node:worker_threads";
import type { Socket } from "node:net";
import { openSync } from "node:fs";
import * as libc from "../sys/libc";
import { SysError, errorToWire, type WireError } from "../sys/errors";
import { CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS } from "../sys/constants";
import { type InitMessage } from "./initProtocol";
import { relayInit } from "./initRelay";
import { spawnThroughNsspawn, type NsspawnPlan, type NsspawnedInit } from "./nsspawn";

/** Main thread → worker. */
export type WorkerRequest =
  | { op: "spawn"; id: number; flags: number; joinPidFd?: number; nsspawn?: NsspawnPlan }
  | { op: "start"; id: number; line: string }
  | { op: "kill"; id: number; signal: NodeJS.Signals };

/** Worker → main thread. */
export type WorkerEvent =
  | { op: "spawned"; id: number; pid: number; adopted?: true }
  | { op: "spawnFailed"; id: number; message: string; error: WireError }
  | { op: "message"; id: number; message: InitMessage }
  | { op: "eof"; id: number }
  | { op: "exit"; id: number; code: number | null; signal: NodeJS.Signals | null };

export interface SpawnWorkerData {
  initPath: string;
  execArgv: string[];
}

const data = workerData as SpawnWorkerData;
const port = parentPort!;
const children = new Map<number, ChildProcess>();
// Inits with a user namespace, spawned through nsspawn (they are not libuv's children).
const nsspawned = new Map<number, NsspawnedInit>();
// A pidfd for this process, given to every init so it can copy the stdio fds it is told to use.
const selfPidfd = libc.pidfdOpen(process.pid);
// The host namespaces (those of the main thread), to return to after each spawn: a child shares
// its parent thread's namespaces, so staying in them would let the next init start inside the
// previous container, and would keep that container's namespaces alive after it exits.
// (unshare(CLONE_NEWPID) also fails with EINVAL while pid_ns_for_children is not the active one.)
const HOST_NS: ReadonlyArray<[number, string]> = [
  [CLONE_NEWPID, "pid"], [CLONE_NEWNET, "net"], [CLONE_NEWUTS, "uts"], [CLONE_NEWIPC, "ipc"],
];
const hostNsFds = new Map(HOST_NS.map(([flag, name]) => [flag, openSync(`/proc/self/ns/${name}`, "r")]));

function leaveNamespaces(flags: number): void {
  for (const [flag, fd] of hostNsFds) if ((flags & flag) !== 0) libc.setns(fd, flag, `host ${flag.toString(16)}`);
}

function post(ev: WorkerEvent): void {
  port.postMessage(ev);
}

/**
 * Enters an existing PID namespace for children (setns(CLONE_NEWPID) sets pid_ns_for_children,
 * per thread): the next child is born in it, as one more process beside its PID 1. Its /proc,
 * mounted by the init later, then shows that namespace: proc shows the mounter's. The fd is the
 * launcher's.
 */
function enterPidNamespace(fd: number): void {
  libc.setns(fd, CLONE_NEWPID, `pid namespace fd ${fd}`);
}

/** A failed unshare, setns or fork, typed (SysError: errno, syscall) for the main thread. */
function spawnFailed(id: number, err: unknown): WorkerEvent {
  const error = SysError.fromNode(err);
  return { op: "spawnFailed", id, message: error instanceof Error ? error.message : String(error), error: errorToWire(error) };
}

function spawnInit(id: number, flags: number, joinPidFd: number | undefined): void {
  let child: ChildProcess;
  // Namespaces to leave after the spawn, a joined pid namespace included.
  let entered = 0;
  try {
    try {
      // Never the mount namespace: the init makes its own when it builds the root (init/rootfs.ts),
      // from the host's view at that moment. This thread stays in the host's, so an init (idle in
      // the warm pool or not) is never cloned from a stale copy of the host's mounts.
      const own = flags & ~CLONE_NEWNS;
      libc.unshare(own);
      entered = own;
      if (joinPidFd !== undefined) {
        enterPidNamespace(joinPidFd);
        entered |= CLONE_NEWPID;
      }
      child = spawn(process.execPath, [...data.execArgv, data.initPath], {
        stdio: ["ignore", "ignore", "inherit", "pipe", selfPidfd],
      });
    } finally {
      leaveNamespaces(entered);
    }
  } catch (err) {
    post(spawnFailed(id, err));
    return;
  }
  if (child.pid === undefined) {
    child.once("error", (err) => post(spawnFailed(id, err)));
    return;
  }
  relayInit(id, child, child.pid, children, post);
}

port.on("message", (req: WorkerRequest) => {
  const child = children.get(req.id);
  const viaHelper = nsspawned.get(req.id);
  switch (req.op) {
    case "spawn":
      if (req.nsspawn !== undefined) spawnThroughNsspawn(req.id, req.nsspawn, process.execPath, [...data.execArgv, data.initPath], nsspawned, post);
      else spawnInit(req.id, req.flags, req.joinPidFd);
      break;
    case "start":
      ((child?.stdio[3] as Socket | undefined) ?? viaHelper?.socket)?.write(req.line);
      break;
    case "kill":
      // An init nsspawn handed over is killed by the launcher through its pidfd; this reaches the helper before that.
      child?.kill(req.signal);
      viaHelper?.kill(req.signal);
      break;
  }
});

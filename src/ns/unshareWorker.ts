// Runs unshare(2) on a fresh worker thread and, optionally, spawns a process from that thread.
// Node is multi-threaded: unshare of mnt/uts/ipc/net/pid/cgroup changes only the calling thread, and
// child_process.spawn forks from the calling thread. So a process spawned from a worker that has
// unshared is born in the new namespaces (PID 1 of a new PID namespace), while the main thread
// stays in the host's. The runtime starts containers with the same technique.
// The worker opens its new namespaces as descriptors before reporting: the fd table is shared by
// all threads, so the namespaces stay reachable (and alive) through /proc/self/fd/<n> whatever
// becomes of the thread; /proc/<pid>/task/<tid>/ns/* vanishes the moment the thread exits.
import { closeSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { join } from "node:path";
import { HostformError, SysError } from "../sys/errors";
import type { NamespaceType } from "./types";

/** A process to spawn from the unshared thread. */
export interface UnshareSpawn {
  /** Absolute path of the program. */
  command: string;
  args?: readonly string[];
  /** Working directory of the child; "/" by default so it pins no directory of the caller. */
  cwd?: string;
  /** Environment of the child; empty by default. */
  env?: Readonly<Record<string, string>>;
  /** New session (setsid), so it outlives this process and its process group. */
  detached?: boolean;
  /** Descriptors of this process to hand over as the child's fds 0, 1, 2 ("ignore" = /dev/null). */
  stdio?: readonly [number | "ignore", number | "ignore", number | "ignore"];
  /**
   * Before spawning, mark every descriptor >= 3 of this process close-on-exec (close_range with
   * CLOSE_RANGE_CLOEXEC; the fd table is shared by all threads, so this is process-wide). Node opens
   * its own descriptors close-on-exec already; this catches those inherited from whoever started
   * the process (a pipe held open by a long-lived child keeps its reader waiting for EOF forever).
   */
  closeInheritedFds?: boolean;
}

/** What the worker does, in order: unshare, adjust the new mount namespace, spawn. */
export interface UnshareOptions {
  /** OR of CLONE_NEW* flags (CLONE_NEWUSER cannot work in a multi-threaded process). */
  flags: number;
  /** With CLONE_NEWNS: recursively set this propagation on "/" of the new mount namespace. */
  rootPropagation?: "private" | "slave";
  /** With CLONE_NEWNS: mount points to detach (MNT_DETACH) from the new mount namespace. */
  detachMounts?: readonly string[];
  /** With CLONE_NEWNET: set the new namespace's loopback interface up. */
  loopbackUp?: boolean;
  spawn?: UnshareSpawn;
}

/** A worker thread parked in its new namespaces until release() is called. */
export interface UnsharedThread {
  /** This process's pid. */
  readonly pid: number;
  /** The worker thread's tid: /proc/<pid>/task/<tid>/ns/* are the new namespaces (pid: pid_for_children). */
  readonly tid: number;
  /** The spawned process, when options.spawn was given. */
  readonly childPid?: number;
  /**
   * Path of an open descriptor (/proc/self/fd/<n>) of the new namespace of a type unshared in
   * options.flags, pid excepted (use /proc/<childPid>/ns/pid). Valid until release(), even if
   * the thread has exited meanwhile; what `mount --bind` or setns takes.
   */
  nsPath(type: NamespaceType): string;
  /**
   * Lets the thread exit, waits for it and closes the namespace descriptors; the namespaces die
   * unless pinned or held by a process.
   */
  release(): Promise<void>;
}

/** Messages between the worker script (unshareWorkerMain.ts) and this module. */
export type WorkerReply =
  | { kind: "ready"; tid: number; childPid?: number; nsFds: Partial<Record<NamespaceType, number>> }
  | { kind: "error"; error: { message: string; syscall?: string; errno?: number; path?: string; code?: string } };

const WORKER_SCRIPT = join(__dirname, "unshareWorkerMain.js");

/**
 * Starts a worker thread that unshares options.flags, applies the mount steps, spawns
 * options.spawn if given, and then waits. Resolves once all that is done; rejects with the
 * worker's SysError (errno, syscall, path intact) when a step fails, after the thread has exited.
 */
export function unshareInWorker(options: UnshareOptions): Promise<UnsharedThread> {
  return new Promise<UnsharedThread>((resolve, reject) => {
    // No execArgv: a worker inherits the process's --require preloads, and one that exits when
    // process.stdin ends (the engine's exitWithParent) ends a worker at once (its stdin is empty).
    const worker = new Worker(WORKER_SCRIPT, { workerData: options, execArgv: [], stdout: false, stderr: false });
    let settled = false;
    const exited = new Promise<void>((done) => worker.once("exit", () => done()));
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      // The thread may hold namespaces or be mid-step: make sure it is gone before reporting.
      void worker.terminate().finally(() => void exited.then(() => reject(err)));
    };
    worker.once("error", (err) => fail(err));
    worker.once("exit", (code) => fail(new HostformError(`unshare worker exited (code ${code}) before reporting`)));
    worker.once("message", (reply: WorkerReply) => {
      if (reply.kind === "error") {
        fail(rebuildError(reply.error));
        return;
      }
      settled = true;
      const fds = reply.nsFds;
      let released: Promise<void> | undefined;
      resolve({
        pid: process.pid,
        tid: reply.tid,
        ...(reply.childPid !== undefined ? { childPid: reply.childPid } : {}),
        nsPath: (type) => {
          const fd = fds[type];
          if (fd === undefined || released !== undefined) throw new HostformError(`no open ${type} namespace of the unshared thread (not unshared, or released)`);
          return `/proc/self/fd/${fd}`;
        },
        release: () => {
          released ??= (async () => {
            worker.postMessage("release");
            await exited;
            for (const fd of Object.values(fds)) closeSync(fd);
          })();
          return released;
        },
      });
    });
  });
}

function rebuildError(e: Extract<WorkerReply, { kind: "error" }>["error"]): Error {
  if (e.syscall !== undefined && e.errno !== undefined) return new SysError(e.syscall, e.errno, e.path);
  return new HostformError(e.message);
}

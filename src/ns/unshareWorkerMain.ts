// Script run inside the worker thread started by unshareWorker.ts. Everything here affects only
// this thread (and the process it spawns); the main thread of the process is never touched.
import { parentPort, workerData } from "node:worker_threads";
import { spawn, type StdioOptions } from "node:child_process";
import * as libc from "../sys/libc";
import { CLOSE_RANGE_CLOEXEC, CLONE_NEWNS, MNT_DETACH, MS_PRIVATE, MS_REC, MS_SLAVE } from "../sys/constants";
import { isErrnoException, SysError } from "../sys/errors";
import type { UnshareOptions, WorkerReply } from "./unshareWorker";

const port = parentPort;
if (port === null) throw new Error("unshareWorkerMain must run in a worker thread");

function post(reply: WorkerReply): void {
  port!.postMessage(reply);
}

function toReply(err: unknown): WorkerReply {
  if (err instanceof SysError) {
    return { kind: "error", error: { message: err.message, syscall: err.syscall, errno: err.errno, code: err.code, ...(err.path !== undefined ? { path: err.path } : {}) } };
  }
  if (isErrnoException(err) && typeof err.errno === "number") {
    return { kind: "error", error: { message: err.message, syscall: err.syscall ?? "spawn", errno: Math.abs(err.errno), ...(err.path !== undefined ? { path: err.path } : {}) } };
  }
  return { kind: "error", error: { message: err instanceof Error ? err.message : String(err) } };
}

function run(options: UnshareOptions): void {
  libc.unshare(options.flags);
  const tid = libc.gettid();
  if ((options.flags & CLONE_NEWNS) !== 0) {
    if (options.rootPropagation !== undefined) {
      libc.mount(null, "/", null, MS_REC | (options.rootPropagation === "private" ? MS_PRIVATE : MS_SLAVE));
    }
    for (const target of options.detachMounts ?? []) libc.umount2(target, MNT_DETACH);
  }
  const s = options.spawn;
  if (s === undefined) {
    post({ kind: "ready", tid });
    return;
  }
  if (s.closeInheritedFds === true) libc.closeRange(3, 0xffffffff, CLOSE_RANGE_CLOEXEC);
  const stdio: StdioOptions = (s.stdio ?? ["ignore", "ignore", "ignore"]).map((x) => x);
  const child = spawn(s.command, [...(s.args ?? [])], {
    cwd: s.cwd ?? "/",
    env: { ...(s.env ?? {}) },
    detached: s.detached ?? false,
    stdio,
  });
  child.once("error", (err) => post(toReply(err)));
  child.once("spawn", () => {
    // The parent's handle must not keep this thread alive; the child lives on its own.
    child.unref();
    post({ kind: "ready", tid, childPid: child.pid! });
  });
}

// Park until the creator has pinned what it needs: the thread's namespaces die with it.
port.once("message", () => port.close());
try {
  run(workerData as UnshareOptions);
} catch (err) {
  post(toReply(err));
  port.close();
}

// Script run inside the worker thread started by unshareWorker.ts. Everything here affects only
// this thread (and the process it spawns); the main thread of the process is never touched.
import { parentPort, workerData } from "node:worker_threads";
import { spawn, type StdioOptions } from "node:child_process";
import { closeSync } from "node:fs";
import * as libc from "../sys/libc";
import { setLinkUp } from "../sys/netdev";
import { CLOSE_RANGE_CLOEXEC, CLONE_NEWNET, CLONE_NEWNS, MNT_DETACH, MS_PRIVATE, MS_REC, MS_SLAVE } from "../sys/constants";
import { isErrnoException, SysError } from "../sys/errors";
import { NAMESPACE_TYPES, cloneFlag, type NamespaceType } from "../sys/namespaces";
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

// Descriptors opened here and not yet handed to the main thread (closed if a later step fails).
const nsFds: Partial<Record<NamespaceType, number>> = {};

/**
 * Opens this thread's namespace of every type in flags but pid: a new PID namespace is reachable
 * only once its init exists (pid_for_children is ENOENT before), and dies with it anyway.
 */
function openNamespaces(flags: number): void {
  for (const type of NAMESPACE_TYPES) {
    if (type === "pid" || (flags & cloneFlag(type)) === 0) continue;
    const path = `/proc/thread-self/ns/${type}`;
    // Not fs.openSync: Node would close that fd when this worker exits.
    nsFds[type] = libc.openReadOnly(path);
  }
}

function closeNamespaces(): void {
  for (const type of NAMESPACE_TYPES) {
    const fd = nsFds[type];
    if (fd !== undefined) closeSync(fd);
    delete nsFds[type];
  }
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
  if (options.loopbackUp === true && (options.flags & CLONE_NEWNET) !== 0) setLinkUp("lo");
  openNamespaces(options.flags);
  const s = options.spawn;
  if (s === undefined) {
    post({ kind: "ready", tid, nsFds });
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
  child.once("error", (err) => {
    closeNamespaces();
    post(toReply(err));
  });
  child.once("spawn", () => {
    // The parent's handle must not keep this thread alive; the child lives on its own.
    child.unref();
    post({ kind: "ready", tid, childPid: child.pid!, nsFds });
  });
}

// Park until the creator has pinned what it needs: the thread's namespaces die with it.
port.once("message", () => port.close());
try {
  run(workerData as UnshareOptions);
} catch (err) {
  closeNamespaces();
  post(toReply(err));
  port.close();
}

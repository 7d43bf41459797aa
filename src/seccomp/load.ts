// Loading compiled filters. A seccomp filter loaded without TSYNC binds the calling thread only and
// is inherited by every child forked from that thread, across execve, for good. So a filter is
// never loaded into a long-lived Node thread: either into a process about to execve (the runtime's
// init) or into a throwaway worker thread that forks the child and then dies with the filter.
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { HostformError, SysError, ValidationError } from "../sys/errors";
import { prctl } from "../sys/libc";
import { PR_SET_NO_NEW_PRIVS } from "../sys/constants";
import { seccompSetModeFilter } from "../sys/libseccomp";
import { BPF_INSTRUCTION_SIZE } from "./bpf";

/** BPF_MAXINSNS: the kernel refuses longer classic BPF programs with EINVAL. */
export const BPF_MAX_INSTRUCTIONS = 4096;

export interface LoadOptions {
  /**
   * Set PR_SET_NO_NEW_PRIVS first (default true). Without it only a thread holding CAP_SYS_ADMIN
   * may load a filter; with it, setuid binaries no longer gain privileges across execve.
   */
  noNewPrivs?: boolean;
  /** seccomp(2) flags, e.g. CompiledFilter.loadFlags. TSYNC is refused. */
  flags?: number;
}

function checkProgram(bpf: Uint8Array): void {
  const n = bpf.length / BPF_INSTRUCTION_SIZE;
  if (bpf.length === 0 || !Number.isInteger(n)) {
    throw new ValidationError("bpf", `${bpf.length} bytes is not a seccomp program`, "pass CompiledFilter.bpf: 8-byte struct sock_filter entries");
  }
  if (n > BPF_MAX_INSTRUCTIONS) {
    throw new ValidationError("bpf", `${n} instructions exceed the kernel's limit of ${BPF_MAX_INSTRUCTIONS}`, "simplify the profile");
  }
}

/**
 * Loads a BPF program as a seccomp filter on the calling thread only (seccomp(2) without TSYNC).
 * Irreversible for this thread and everything it forks later: call it only in a thread or process
 * that will execve or exit next.
 */
export function loadFilterOnCurrentThread(bpf: Uint8Array, options: LoadOptions = {}): void {
  checkProgram(bpf);
  const flags = options.flags ?? 0;
  if ((flags & 1) !== 0) throw new ValidationError("flags", "SECCOMP_FILTER_FLAG_TSYNC would filter every thread of this process", "load per thread");
  // no_new_privs is a per-task flag like the filter itself: other threads keep theirs.
  if (options.noNewPrivs ?? true) prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  seccompSetModeFilter(Buffer.from(bpf.buffer, bpf.byteOffset, bpf.byteLength), flags);
}

/** Options for the child started under a filter. */
export interface SpawnWithFilterOptions extends LoadOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin. */
  input?: string | Uint8Array;
  /** Milliseconds before the child is killed with SIGKILL. */
  timeout?: number;
  /** Largest stdout or stderr kept, in bytes (default 16 MiB). */
  maxBuffer?: number;
}

/** How a filtered child ended. stdout/stderr are UTF-8 text. */
export interface SpawnWithFilterResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Message from loadWorker.js: the child's result or why the worker could not run it. */
export type WorkerReply =
  | { kind: "done"; result: SpawnWithFilterResult }
  | { kind: "error"; stage: "load" | "spawn"; message: string; errno?: number; syscall?: string; path?: string; field?: string };

/** Data handed to loadWorker.js. */
export interface WorkerRequest {
  bpf: Uint8Array;
  file: string;
  args: string[];
  options: SpawnWithFilterOptions;
}

/** Path of the compiled worker script, next to this module. */
export function loadWorkerPath(): string {
  return join(__dirname, "loadWorker.js");
}

/**
 * Runs file with args in a child process under the seccomp filter bpf, without filtering any
 * thread of the calling process: a fresh worker thread loads the filter on itself, spawns the
 * child (which inherits it) and is then discarded. Resolves when the child has exited.
 */
export async function spawnWithFilter(bpf: Uint8Array, file: string, args: readonly string[] = [], options: SpawnWithFilterOptions = {}): Promise<SpawnWithFilterResult> {
  checkProgram(bpf);
  const request: WorkerRequest = { bpf: Uint8Array.from(bpf), file, args: [...args], options };
  const worker = new Worker(loadWorkerPath(), { workerData: request });
  try {
    const reply = await new Promise<WorkerReply>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
      worker.once("exit", (code) => reject(new HostformError(`seccomp load worker exited with code ${code} before replying`)));
    });
    if (reply.kind === "done") return reply.result;
    const context = reply.stage === "load" ? "load seccomp filter in worker" : `spawn ${file} under seccomp filter`;
    if (reply.field !== undefined) throw new ValidationError(reply.field, reply.message);
    if (reply.errno !== undefined) throw new SysError(reply.syscall ?? reply.stage, reply.errno, reply.path ?? file, context);
    throw new HostformError(`${context}: ${reply.message}`);
  } finally {
    // The worker thread carries the filter now: it must never run anything else.
    await worker.terminate();
  }
}

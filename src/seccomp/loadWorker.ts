// Worker-thread entry of spawnWithFilter (load.ts): load the filter on this thread, fork the child
// from this thread so that it inherits the filter, report, and let the parent terminate us.
import { spawnSync } from "node:child_process";
import { parentPort, workerData } from "node:worker_threads";
import { SysError, ValidationError } from "../sys/errors";
import { loadFilterOnCurrentThread, type WorkerReply, type WorkerRequest } from "./load";

function errorReply(stage: "load" | "spawn", err: unknown): WorkerReply {
  const reply: WorkerReply = { kind: "error", stage, message: err instanceof Error ? err.message : String(err) };
  if (err instanceof SysError) {
    reply.errno = err.errno;
    reply.syscall = err.syscall;
    if (err.path !== undefined) reply.path = err.path;
  } else if (err instanceof ValidationError) {
    reply.field = err.field;
  }
  return reply;
}

function run(req: WorkerRequest): WorkerReply {
  const { bpf, file, args, options } = req;
  try {
    const load: { noNewPrivs?: boolean; flags?: number } = {};
    if (options.noNewPrivs !== undefined) load.noNewPrivs = options.noNewPrivs;
    if (options.flags !== undefined) load.flags = options.flags;
    loadFilterOnCurrentThread(bpf, load);
  } catch (err) {
    return errorReply("load", err);
  }
  // spawnSync forks from the calling thread (libuv runs fork in it), so the child gets the filter.
  const r = spawnSync(file, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    input: options.input,
    timeout: options.timeout,
    killSignal: "SIGKILL",
    maxBuffer: options.maxBuffer ?? 16 * 1024 * 1024,
    encoding: "buffer",
  });
  if (r.error !== undefined) {
    const e = r.error as NodeJS.ErrnoException;
    if (typeof e.errno === "number" && r.pid === 0) {
      return errorReply("spawn", new SysError(e.syscall ?? "spawn", Math.abs(e.errno), file));
    }
    if (e.code !== "ETIMEDOUT" && e.code !== "ENOBUFS") return errorReply("spawn", e);
  }
  return {
    kind: "done",
    result: { status: r.status, signal: r.signal, stdout: r.stdout?.toString("utf8") ?? "", stderr: r.stderr?.toString("utf8") ?? "" },
  };
}

parentPort?.postMessage(run(workerData as WorkerRequest));

// Running OCI hooks (runtime-spec config.md "POSIX-platform Hooks"), as runc does: execv(path, args)
// with exactly the hook's env, the container's state JSON on stdin, killed at its timeout. Synchronous,
// because the container init (which may not do asynchronous work, see init/rootfs.ts) runs two phases.
import { spawnSync } from "node:child_process";
import { HostformError, registerErrorClass } from "../sys/errors";
import type { HookPhase, HookSpec } from "./specHooks";

/** The OCI state document (runtime-spec runtime.md "State") a hook reads on stdin. */
export interface OciStateJson {
  ociVersion: string;
  id: string;
  status: "creating" | "created" | "running" | "stopped" | "paused";
  /** Absent once the container has no process. */
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}

/** How much of a failed hook's stderr (and stdout) the error carries. */
const OUTPUT_TAIL = 2000;

/** A hook that could not run, failed, or ran past its timeout; names the phase, its index and path. */
export class HookError extends HostformError {
  readonly phase: HookPhase;
  readonly index: number;
  readonly path: string;
  readonly exitStatus?: number;
  readonly signal?: string;
  /** Seconds, when the hook was killed for running past it. */
  readonly timeout?: number;
  readonly stderr?: string;

  constructor(phase: HookPhase, index: number, hook: HookSpec, problem: string, detail: { exitStatus?: number; signal?: string; timeout?: number; stderr?: string } = {}, options?: { cause?: unknown }) {
    const stderr = detail.stderr?.trim() ?? "";
    super(`${phase} hook ${index} (${hook.path}) ${problem}${stderr !== "" ? `: ${stderr}` : ""}`, options);
    this.phase = phase;
    this.index = index;
    this.path = hook.path;
    if (detail.exitStatus !== undefined) this.exitStatus = detail.exitStatus;
    if (detail.signal !== undefined) this.signal = detail.signal;
    if (detail.timeout !== undefined) this.timeout = detail.timeout;
    if (stderr !== "") this.stderr = stderr;
  }
}
registerErrorClass(HookError);

/**
 * What a failed hook of each phase means, as in runc: before the program runs, the container is
 * destroyed ("abort"); after start, poststart's failure makes the caller kill the container; poststop
 * runs while deleting, so its failures are only warnings and the delete goes on.
 */
export function hookFailurePolicy(phase: HookPhase): "abort" | "kill" | "warn" {
  if (phase === "poststart") return "kill";
  if (phase === "poststop") return "warn";
  return "abort";
}

function tail(b: Buffer | string | null | undefined): string {
  const s = b === null || b === undefined ? "" : b.toString();
  return s.length > OUTPUT_TAIL ? `…${s.slice(-OUTPUT_TAIL)}` : s;
}

/** KEY=VALUE list to the object spawn takes; a later duplicate wins, as in Go's os/exec (runc's hooks). */
function envObject(env: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env ?? []) {
    const eq = e.indexOf("=");
    out[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return out;
}

export interface RunHookOptions {
  /** The hook's working directory (runc runs createContainer hooks in the rootfs); default: ours. */
  cwd?: string;
}

/** Runs one hook; throws a HookError unless it exits 0 in time. */
export function runHook(phase: HookPhase, index: number, hook: HookSpec, stateJson: string, options: RunHookOptions = {}): void {
  const [argv0, ...rest] = hook.args !== undefined && hook.args.length > 0 ? hook.args : [hook.path];
  const timeoutMs = hook.timeout !== undefined ? hook.timeout * 1000 : undefined;
  const r = spawnSync(hook.path, rest, {
    argv0: argv0 ?? hook.path,
    env: envObject(hook.env),
    input: stateJson,
    stdio: ["pipe", "pipe", "pipe"],
    killSignal: "SIGKILL",
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    ...(timeoutMs !== undefined ? { timeout: timeoutMs } : {}),
  });
  const stderr = tail(r.stderr) || tail(r.stdout);
  const err = r.error as NodeJS.ErrnoException | undefined;
  if (err?.code === "ETIMEDOUT") {
    throw new HookError(phase, index, hook, `ran past its timeout of ${hook.timeout ?? 0} s and was killed with SIGKILL`, { timeout: hook.timeout ?? 0, stderr }, { cause: err });
  }
  // A hook that closes its stdin early gets EPIPE on our write; its exit status still decides.
  if (err !== undefined && err.code !== "EPIPE") throw new HookError(phase, index, hook, `could not be run: ${err.message}`, {}, { cause: err });
  if (r.signal !== null) throw new HookError(phase, index, hook, `was killed by ${r.signal}`, { signal: r.signal, stderr });
  if (r.status !== 0) throw new HookError(phase, index, hook, `exited with status ${String(r.status)}`, { ...(r.status !== null ? { exitStatus: r.status } : {}), stderr });
}

/**
 * Runs a phase's hooks in order, each given `state` on stdin; the first failure stops the phase and
 * is thrown (what it means is hookFailurePolicy(phase)'s to say).
 */
export function runHooks(phase: HookPhase, hooks: readonly HookSpec[] | undefined, state: OciStateJson | string, options: RunHookOptions = {}): void {
  if (hooks === undefined || hooks.length === 0) return;
  const json = typeof state === "string" ? state : JSON.stringify(state);
  hooks.forEach((h, i) => runHook(phase, i, h, json, options));
}

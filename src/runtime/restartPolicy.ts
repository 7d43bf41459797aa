// Restart policies as Docker names them, with the back-off between restarts: 100 ms doubling to
// 10 s, reset once a run has lasted 10 s (a crash loop slows down, a long-lived service that dies
// once comes back at once).
import { ValidationError } from "../sys/errors";
import type { PendingRestart } from "./state";

/** A parsed restart policy. max counts restarts (on-failure only; undefined = unlimited). */
export type RestartPolicy = { kind: "no" } | { kind: "always" } | { kind: "on-failure"; max?: number };

/** Parses "no", "always", "on-failure" or "on-failure:N". */
export function parseRestartPolicy(text: string | undefined, field = "restartPolicy"): RestartPolicy {
  const t = (text ?? "no").trim();
  if (t === "no" || t === "") return { kind: "no" };
  if (t === "always") return { kind: "always" };
  const m = /^on-failure(?::(\d+))?$/.exec(t);
  if (m !== null) return m[1] === undefined ? { kind: "on-failure" } : { kind: "on-failure", max: Number(m[1]) };
  throw new ValidationError(field, `${JSON.stringify(text)} is not a restart policy`, 'use "no", "always", "on-failure" or "on-failure:N"');
}

export function formatRestartPolicy(p: RestartPolicy): string {
  return p.kind === "on-failure" && p.max !== undefined ? `on-failure:${p.max}` : p.kind;
}

/**
 * Whether a container that exited should be started again. exitCode null means the exit status is
 * unknown (an adopted container is not the supervisor's child): on-failure restarts it, since
 * success was not seen, as systemd's Restart=on-failure would for a runc container whose status
 * it cannot read. The supervisor's exit note says so.
 */
export function shouldRestart(p: RestartPolicy, exitCode: number | null, restartCount: number, stoppedByUser: boolean): boolean {
  if (stoppedByUser) return false;
  if (p.kind === "always") return true;
  if (p.kind === "on-failure") return exitCode !== 0 && (p.max === undefined || restartCount < p.max);
  return false;
}

export const BACKOFF_INITIAL_MS = 100;
export const BACKOFF_MAX_MS = 10_000;
/** A run at least this long resets the back-off. */
export const BACKOFF_RESET_MS = 10_000;

/**
 * The longest back-off: BACKOFF_MAX_MS, or less when the supervisor was started with
 * HOSTFORM_RESTART_MAX_BACKOFF_MS (as systemd's RestartMaxDelaySec: for hosts that want crashed
 * services back sooner, and for tests that restart a container a hundred times).
 */
function maxBackoff(): number {
  const v = Number(process.env.HOSTFORM_RESTART_MAX_BACKOFF_MS);
  return Number.isFinite(v) && v >= 0 && v < BACKOFF_MAX_MS ? v : BACKOFF_MAX_MS;
}

/** Delay before restart number `attempt` (0-based since the last reset). */
export function backoffDelay(attempt: number): number {
  return Math.min(maxBackoff(), BACKOFF_INITIAL_MS * 2 ** Math.min(attempt, 20));
}

/** Said out loud when on-failure restarts a run whose exit code could not be learnt. */
export const UNKNOWN_EXIT_RESTART_REASON = "on-failure counts an unknown exit code as a failure";

/** What the restart decision needs to know about the run that just ended. */
export interface EndedRun {
  exitCode: number | null;
  restartCount: number;
  stoppedByUser: boolean;
  /** How long it ran; a run of BACKOFF_RESET_MS or more resets the back-off. */
  ranMs: number;
  /** Back-off step to use unless the run reset it (the previous restart's step + 1, or 0). */
  nextAttempt: number;
}

/** The restart to make after a run ended, due at now + back-off; undefined when the policy makes none. */
export function planRestart(p: RestartPolicy, run: EndedRun, now: Date): PendingRestart | undefined {
  if (!shouldRestart(p, run.exitCode, run.restartCount, run.stoppedByUser)) return undefined;
  const attempt = run.ranMs >= BACKOFF_RESET_MS ? 0 : run.nextAttempt;
  const delayMs = backoffDelay(attempt);
  const pending: PendingRestart = { at: new Date(now.getTime() + delayMs).toISOString(), delayMs, attempt };
  if (run.exitCode === null && p.kind === "on-failure") pending.reason = UNKNOWN_EXIT_RESTART_REASON;
  return pending;
}

// Reads a live process's seccomp state from /proc, for drift detection: a container declared
// with a profile whose init shows "Seccomp: 0" runs unfiltered.
import { readFileSync } from "node:fs";
import { CorruptFileError, SysError } from "../sys/errors";

/** Seccomp mode of a task (linux/seccomp.h SECCOMP_MODE_*). */
export type SeccompMode = "disabled" | "strict" | "filter";

export interface SeccompStatus {
  mode: SeccompMode;
  /** Number of filters attached (Seccomp_filters, kernel 5.9+); undefined on older kernels. */
  filters?: number;
  /** PR_SET_NO_NEW_PRIVS state. */
  noNewPrivs: boolean;
}

const MODES: Record<string, SeccompMode> = { "0": "disabled", "1": "strict", "2": "filter" };

/** Parses the Seccomp lines of a /proc/<pid>/status text. */
export function parseSeccompStatus(status: string, source = "status"): SeccompStatus {
  const field = (name: string): string | undefined => new RegExp(`^${name}:\\s*(\\S+)`, "m").exec(status)?.[1];
  const raw = field("Seccomp");
  const mode = raw === undefined ? undefined : MODES[raw];
  // A kernel built without CONFIG_SECCOMP has no Seccomp line: nothing can be filtered there.
  const out: SeccompStatus = { mode: mode ?? "disabled", noNewPrivs: field("NoNewPrivs") === "1" };
  if (raw !== undefined && mode === undefined) throw new CorruptFileError(source, `unexpected Seccomp value ${raw}`);
  const filters = field("Seccomp_filters");
  if (filters !== undefined) out.filters = Number(filters);
  return out;
}

/**
 * Seccomp state of a process (its main thread), or of one thread when tid is given. Seccomp is
 * per thread: a Node process that loaded a filter in a worker shows it only under that task.
 */
export function readSeccompStatus(pid: number | "self", tid?: number): SeccompStatus {
  const path = tid === undefined ? `/proc/${pid}/status` : `/proc/${pid}/task/${tid}/status`;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw SysError.fromNode(err, "read seccomp status");
  }
  return parseSeccompStatus(text, path);
}

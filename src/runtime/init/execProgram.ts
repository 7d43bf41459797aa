// The program: found in the container as execvp would (programSearch.ts gives the candidates),
// the signal state execve would otherwise carry over, and execve itself.
import { constants as fsConstants, statSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { ValidationError, hasCode } from "../../sys/errors";
import * as initSys from "../../sys/process";
import { programCandidates } from "../programSearch";
import { runPendingHooks, type PendingHooks } from "./hooks";
import { loadSeccomp } from "./seccomp";
import { step } from "./steps";
import type { ContainerSpec } from "../spec";

/** What is left to do at start: the filter (when it can wait until then) and the program. */
export interface ReadyToExec {
  program: string;
  /** Loaded right before execve: the waiting init must not run under the container's filter. */
  seccomp?: Buffer;
  /** The startContainer hooks, run before that filter: only execve may follow it. */
  startHooks?: PendingHooks | undefined;
  /** The init's copy of the exec fifo (hostform-runtime): "start" is a byte on it. */
  startFd?: number;
  /** Copies of the fds to pass as 3, 4, ..., kept at high numbers until execve (see passExtraFds). */
  extraFds?: number[];
}

/** Where the copies of passed fds wait: above anything the init or Node opens, so placing one never closes another. */
export const EXTRA_FD_BASE = 1000;

/**
 * Puts the passed fds at 3, 4, ... without close-on-exec. Only now: those numbers hold the init's
 * own socket, pidfd and Node's descriptors until the very end.
 */
function passExtraFds(fds: readonly number[]): void {
  fds.forEach((fd, i) => initSys.dup3(fd, 3 + i, 0));
}

/** Errors after which execvp tries the next PATH entry (glibc's list); EACCES is remembered. */
const TRY_NEXT = ["ENOENT", "ENOTDIR", "ESTALE", "ENODEV", "ETIMEDOUT"];

/**
 * The path execve will run for process.args[0], checked with this thread's ids (run it after the
 * user change). A miss is reported by name rather than as execve's bare ENOENT.
 */
export function resolveProgram(spec: ContainerSpec): string {
  const name = spec.process.args[0] ?? "";
  let denied: string | undefined;
  for (const c of programCandidates(spec)) {
    try {
      initSys.access(c, fsConstants.X_OK);
      // A directory passes access(X_OK) but is no program: execvp would go on too.
      if (!statSync(c).isDirectory()) return c;
    } catch (err) {
      if (hasCode(err, "EACCES")) denied = c;
      else if (!TRY_NEXT.some((code) => hasCode(err, code))) throw err;
    }
  }
  if (denied !== undefined) throw new ValidationError("process.args[0]", `'${denied}' is not executable by uid ${spec.process.user.uid} in the container`);
  throw new ValidationError("process.args[0]", `'${name}' was not found in the container${name.includes("/") ? "" : " (searched PATH)"}`, "check the rootfs and process.env PATH");
}

/** Signal state as a fresh process has it: execve keeps the mask and ignored signals. */
export function resetSignals(): void {
  initSys.unblockAllSignals();
  // Node ignores these two; handled signals reset by themselves at execve.
  initSys.resetSignal(osConstants.signals.SIGPIPE);
  initSys.resetSignal(osConstants.signals.SIGXFSZ);
}

/**
 * The startContainer hooks, the deferred filter, then execve. The caller has told the launcher
 * "exec" already, so between the filter and the program only execve runs: an allow-list needs
 * nothing of the init's. runc runs those hooks under the filter either way; here they run before a
 * deferred (no_new_privs) one for that reason, and under an early one (loaded before the
 * capabilities were dropped) as in runc.
 */
export function execProgram(spec: ContainerSpec, ready: ReadyToExec): never {
  runPendingHooks(ready.startHooks);
  const seccomp = ready.seccomp;
  const extra = ready.extraFds;
  if (extra !== undefined && extra.length > 0) step("pass fds", () => passExtraFds(extra));
  if (seccomp !== undefined) loadSeccomp(seccomp);
  return step("execve", () => initSys.execve(ready.program, spec.process.args, spec.process.env ?? []));
}

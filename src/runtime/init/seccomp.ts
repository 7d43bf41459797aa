// When the container's seccomp filter goes on. Without no_new_privs, loading one needs
// CAP_SYS_ADMIN, so it is loaded before the capabilities are dropped; with no_new_privs it waits
// until right before execve, so the waiting init (and the last setup steps) run unfiltered.
import { loadFilterOnCurrentThread } from "../../seccomp/load";
import { step } from "./steps";

/** The compiled filter (sock_filter records) of a request, if it has one. */
export function decodeFilter(base64: string | undefined): Buffer | undefined {
  return base64 !== undefined ? Buffer.from(base64, "base64") : undefined;
}

export interface SeccompPlan {
  /** Loaded before the capabilities are dropped. */
  early?: Buffer;
  /** Loaded right before execve. */
  atExec?: Buffer;
}

export function planSeccomp(filter: Buffer | undefined, noNewPrivileges: boolean): SeccompPlan {
  if (filter === undefined) return {};
  return noNewPrivileges ? { atExec: filter } : { early: filter };
}

/** Loads the filter on this (the main, execve-surviving) thread. */
export function loadSeccomp(filter: Buffer): void {
  step("load seccomp filter", () => loadFilterOnCurrentThread(filter, { noNewPrivs: false }));
}

// Who the container's process is: resource limits, then (in dropPrivileges) the user and groups,
// capabilities, no_new_privs and umask, with the seccomp filter loaded at the point its
// privileges allow.
import * as libc from "../../sys/libc";
import { PR_SET_KEEPCAPS, PR_SET_NO_NEW_PRIVS, RLIMITS } from "../../sys/constants";
import { ValidationError } from "../../sys/errors";
import { dropBoundingSet, raisableAmbient, setCapabilities } from "./capabilities";
import { resolveProgram, type ReadyToExec } from "./execProgram";
import { loadSeccomp, planSeccomp } from "./seccomp";
import { step } from "./steps";
import type { ContainerSpec, RlimitSpec, UserSpec } from "../spec";

export function setRlimits(rlimits: readonly RlimitSpec[] | undefined): void {
  for (const r of rlimits ?? []) {
    step(`rlimit ${r.type}`, () => {
      const resource = RLIMITS[r.type];
      if (resource === undefined) throw new ValidationError("process.rlimits", `unknown resource ${r.type}`, "use the RLIMIT_* names of getrlimit(2)");
      libc.prlimit(0, resource, { soft: r.soft, hard: r.hard });
    });
  }
}

/** Takes on uid, gid and groups, keeping the permitted capabilities across the uid change. */
function setUser(user: UserSpec): void {
  // execve clears PR_SET_KEEPCAPS again.
  libc.prctl(PR_SET_KEEPCAPS, 1);
  // Raw per-thread syscalls: this (main) thread is the one that survives execve.
  libc.setgroups(user.additionalGids ?? []);
  libc.setresgid(user.gid);
  libc.setresuid(user.uid);
}

/**
 * From root to the spec's process: bounding set, user, cwd, capabilities, no_new_privs, umask.
 * The program is resolved after the uid change, so "not executable" is judged as for the user.
 * Returns what start has left to do.
 */
export function dropPrivileges(spec: ContainerSpec, lastCap: number, filter: Buffer | undefined, warn: (message: string) => void): ReadyToExec {
  const p = spec.process;
  const nnp = p.noNewPrivileges === true;
  const seccomp = planSeccomp(filter, nnp);
  if (seccomp.early !== undefined) loadSeccomp(seccomp.early);
  step("drop bounding set", () => dropBoundingSet(p.capabilities, lastCap));
  step("set user", () => setUser(p.user));
  step("chdir cwd", () => libc.chdir(p.cwd));
  const program = step("resolve program", () => resolveProgram(spec));
  const ambient = raisableAmbient(p.capabilities, warn);
  step("set capabilities", () => setCapabilities(p.capabilities, ambient));
  if (nnp) step("no_new_privs", () => libc.prctl(PR_SET_NO_NEW_PRIVS, 1));
  libc.umask(p.user.umask ?? 0o022);
  return seccomp.atExec !== undefined ? { program, seccomp: seccomp.atExec } : { program };
}

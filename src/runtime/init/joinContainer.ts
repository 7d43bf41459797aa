// Exec mode: the init was born in a running container's pid/net/uts/ipc/cgroup namespaces and
// placed in its cgroups; it joins the mount namespace and sets up one more process of the
// container as prepareContainer would, minus everything that builds the container.
import { readFileSync } from "node:fs";
import { hasCode } from "../../sys/errors";
import { setControllingTerminal, setsid } from "../../sys/terminal";
import { resolveExecUser } from "../execUser";
import type { ExecRequest } from "../initProtocol";
import { dropPrivileges, setRlimits } from "./credentials";
import { openNullDevice } from "./devices";
import { EXTRA_FD_BASE, resetSignals, type ReadyToExec } from "./execProgram";
import { joinContainerMountNamespace } from "./namespaces";
import { decodeFilter } from "./seccomp";
import { closeOnExecAboveStdio, copyLauncherFd, setStdio } from "./stdio";
import { step } from "./steps";

/** A file of the container's that may be absent (a minimal rootfs has no /etc/group): "" then. */
function readOptional(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if (hasCode(err, "ENOENT")) return "";
    throw err;
  }
}

export function joinContainer(req: ExecRequest, lastCap: number, warn: (message: string) => void): ReadyToExec {
  const spec = req.spec;
  const hostNull = req.stdio.includes(null) ? step("open /dev/null", () => openNullDevice("/dev/null")) : undefined;
  step("join mount namespace", () => joinContainerMountNamespace());
  const user = req.user;
  if (user !== undefined) spec.process.user = step("resolve user", () => resolveExecUser(user, readOptional("/etc/passwd"), readOptional("/etc/group")));
  setRlimits(spec.process.rlimits);
  step("stdio", () => setStdio(req.stdio, hostNull));
  const extraFds = step("passed fds", () => (req.extraFds ?? []).map((fd, i) => copyLauncherFd(fd, EXTRA_FD_BASE + i)));
  if (req.terminal) {
    step("controlling terminal", () => {
      setsid();
      setControllingTerminal(0);
    });
  }
  step("close fds", () => closeOnExecAboveStdio());
  step("reset signals", () => resetSignals());
  const ready = dropPrivileges(spec, lastCap, decodeFilter(req.seccompBpf), warn);
  if (extraFds.length > 0) ready.extraFds = extraFds;
  return ready;
}

// OCI "create" inside the init: the order in which the subsystems build the container around
// this process, everything but the filter (when no_new_privs lets it wait) and execve, so every
// setup error is reported before start.
import { ValidationError } from "../../sys/errors";
import * as libc from "../../sys/libc";
import { setsid } from "../../sys/terminal";
import type { PrepareRequest } from "../initProtocol";
import { send, waitForContinue } from "./channel";
import { setupConsole } from "./console";
import { dropPrivileges, setRlimits } from "./credentials";
import { openNullDevice } from "./devices";
import { EXTRA_FD_BASE, resetSignals, type ReadyToExec } from "./execProgram";
import { pendingHooks, runPendingHooks } from "./hooks";
import { bringUpLoopback } from "./loopback";
import { joinNamespaces } from "./namespaces";
import { protectPaths } from "./protectedPaths";
import { buildRoot } from "./rootfs";
import { decodeFilter } from "./seccomp";
import { closeOnExecAboveStdio, copyLauncherFd, setStdio } from "./stdio";
import { StepError, step } from "./steps";
import { applySysctls } from "./sysctl";

export function prepareContainer(req: PrepareRequest, lastCap: number, warn: (message: string) => void): ReadyToExec {
  const spec = req.spec;
  // Its own session and process group: a signal to the supervisor's group must not reach it.
  step("setsid", () => setsid());
  libc.umask(0);
  step("join namespaces", () => joinNamespaces(spec, req.joinFds));
  step("loopback up", () => bringUpLoopback(spec));
  // The host's null device, in case the container has none: opened while the host's /dev is here.
  const hostNull = step("open /dev/null", () => openNullDevice("/dev/null"));
  // process.oomScoreAdj was set by the launcher (lowering it takes CAP_SYS_RESOURCE in the host's
  // user namespace, which an init in a user namespace of its own lacks); execve keeps it.
  buildRoot(spec, () => {
    // runc's order: the runtime's prestart and createRuntime hooks once the namespaces and mounts
    // exist, then createContainer, then pivot_root.
    if (req.runtimeHooks === true) {
      send({ kind: "runtimeHooks" });
      if (!waitForContinue()) process.exit(1);
    }
    runPendingHooks(pendingHooks(req, "createContainer"), spec.root.path);
  }, req.idmapFds);
  // As runc: after the spec's mounts and pivot_root, before the root may turn read-only.
  const consoleSocket = req.consoleSocket;
  if (spec.process.terminal === true) {
    if (consoleSocket === undefined) throw new StepError("console", new ValidationError("process.terminal", "needs a console socket", "pass consoleSocket to the launcher"));
    setupConsole(spec, consoleSocket);
  }
  // Before protectPaths: the default spec makes /proc/sys read-only.
  applySysctls(spec);
  protectPaths(spec);
  const hostname = spec.hostname;
  if (hostname !== undefined) step("sethostname", () => libc.sethostname(hostname));
  setRlimits(spec.process.rlimits);
  if (spec.process.terminal !== true) step("stdio", () => setStdio(req.stdio, hostNull));
  // Copied while the launcher is there to copy from: with an exec fifo it is gone before start.
  const startFifo = req.startFifo;
  const startFd = startFifo === undefined ? undefined : step("exec fifo", () => copyLauncherFd(startFifo));
  const extraFds = step("passed fds", () => (req.extraFds ?? []).map((fd, i) => copyLauncherFd(fd, EXTRA_FD_BASE + i)));
  step("close fds", () => closeOnExecAboveStdio());
  step("reset signals", () => resetSignals());
  const ready = dropPrivileges(spec, lastCap, decodeFilter(req.seccompBpf), warn);
  if (startFd !== undefined) ready.startFd = startFd;
  if (extraFds.length > 0) ready.extraFds = extraFds;
  const startHooks = pendingHooks(req, "startContainer");
  if (startHooks !== undefined) ready.startHooks = startHooks;
  return ready;
}

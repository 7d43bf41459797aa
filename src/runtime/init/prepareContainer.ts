// OCI "create" inside the init: the order in which the subsystems build the container around
// this process, everything but the filter (when no_new_privs lets it wait) and execve, so every
// setup error is reported before start.
import { writeFileSync } from "node:fs";
import * as libc from "../../sys/libc";
import { setsid } from "../../sys/terminal";
import type { PrepareRequest } from "../initProtocol";
import { dropPrivileges, setRlimits } from "./credentials";
import { openNullDevice } from "./devices";
import { resetSignals, type ReadyToExec } from "./execProgram";
import { pendingHooks, runPendingHooks } from "./hooks";
import { bringUpLoopback } from "./loopback";
import { joinNamespaces } from "./namespaces";
import { protectPaths } from "./protectedPaths";
import { buildRoot } from "./rootfs";
import { decodeFilter } from "./seccomp";
import { closeOnExecAboveStdio, setStdio } from "./stdio";
import { step } from "./steps";
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
  const oomScoreAdj = spec.process.oomScoreAdj;
  // Through the host's /proc (the container's may not mount one), while the init still has
  // CAP_SYS_RESOURCE (lowering the score needs it); the program keeps the value across execve.
  if (oomScoreAdj !== undefined) step("oom_score_adj", () => writeFileSync("/proc/self/oom_score_adj", String(oomScoreAdj)));
  buildRoot(spec, () => runPendingHooks(pendingHooks(req, "createContainer"), spec.root.path));
  // Before protectPaths: the default spec makes /proc/sys read-only.
  applySysctls(spec);
  protectPaths(spec);
  const hostname = spec.hostname;
  if (hostname !== undefined) step("sethostname", () => libc.sethostname(hostname));
  setRlimits(spec.process.rlimits);
  step("stdio", () => setStdio(req.stdio, hostNull));
  step("close fds", () => closeOnExecAboveStdio());
  step("reset signals", () => resetSignals());
  return { ...dropPrivileges(spec, lastCap, decodeFilter(req.seccompBpf), warn), startHooks: pendingHooks(req, "startContainer") };
}

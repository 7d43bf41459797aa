// The container init (the analogue of `runc init`) and its conversation with the launcher
// (initProtocol.ts). The launcher spawns it from a worker thread that unshared pid/mnt/uts/ipc/net,
// so it starts as PID 1 of fresh namespaces. It loads its modules, says "ready" and blocks until
// the launcher sends the spec. Then it builds the container around itself up to just before execve
// (OCI "created"), says "prepared", and waits for "start" to execve() the user's program: no
// hostform process stays behind. In exec mode it is born inside a running container's namespaces
// instead and becomes one more process of that container. A failure is reported as "error".
import { readFileSync, writeSync } from "node:fs";
import * as libc from "../../sys/libc";
import * as initSys from "../../sys/process";
import { readRequest, send, waitForFifo, waitForStart } from "./channel";
import { execProgram, type ReadyToExec } from "./execProgram";
import { joinContainer } from "./joinContainer";
import { prepareContainer } from "./prepareContainer";
import { receiveLauncherFds } from "./stdio";
import { failure } from "./steps";
import type { ContainerSpec } from "../spec";
import type { InitFailure } from "../initProtocol";

function warn(message: string): void {
  send({ kind: "warning", message });
}

/**
 * "exec" goes to the launcher before the deferred filter and execve: after the filter only execve
 * may run. A later failure still reaches the launcher as an "error" (or as the init's exit).
 */
function announceAndExec(spec: ContainerSpec, ready: ReadyToExec): never {
  send({ kind: "exec" });
  return execProgram(spec, ready);
}

let launcherGone = false;

function report(f: InitFailure): void {
  if (launcherGone) writeSync(2, `hostform-runtime init: ${f.message}\n`);
  else send(f);
}

export function main(): void {
  // Warm-up: everything the hot path touches is loaded and bound before "ready".
  const lastCap = Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8").trim());
  libc.getpid();
  initSys.access("/", 0);
  send({ kind: "ready" });
  const req = readRequest();
  if (req === undefined) process.exit(0);
  try {
    if (req.sentFds !== undefined) receiveLauncherFds(req.sentFds);
    if (req.kind === "exec") {
      const ready = joinContainer(req, lastCap, warn);
      if (req.detach !== true) announceAndExec(req.spec, ready);
      send({ kind: "prepared" });
      // "start" or the executor's exit (EOF): either way it is gone or going, and the program is ours to run.
      waitForStart();
      launcherGone = true;
      execProgram(req.spec, ready);
    }
    const ready = prepareContainer(req, lastCap, warn);
    send({ kind: "prepared" });
    const startFd = ready.startFd;
    if (startFd === undefined) {
      if (!waitForStart()) process.exit(0);
      announceAndExec(req.spec, ready);
    }
    // hostform-runtime's launcher has exited by now (runc's model): nobody reads the socket, and
    // a failure from here on goes to the container's stderr, as runc's init reports it.
    launcherGone = true;
    if (!waitForFifo(startFd)) process.exit(0);
    execProgram(req.spec, ready);
  } catch (err) {
    try {
      report(failure(err));
    } finally {
      // Exit 1 even when the launcher is gone and the report cannot be sent: the exit status says it.
      process.exit(1);
    }
  }
}

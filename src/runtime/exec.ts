// Runs one more process inside a running container (`hostform exec`, `runc exec`). A worker
// thread joins the container's pid/net/uts/ipc/cgroup namespaces and spawns an init there
// (execWorker.ts); the executor places it in the container's cgroups; the init joins the mount
// namespace, takes on the container's credentials, capabilities, no_new_privs and seccomp filter,
// and execs the program. As with a container start, no hostform process stays behind.
import { closeSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import * as libc from "../sys/libc";
import { signalNumber } from "../sys/signals";
import { SysError, ValidationError, withContext } from "../sys/errors";
import type { StdioChoice } from "./launcher";
import { InitTracker, type ContainerExit } from "./initTracker";
import { assertAlive, openVerifiedPidfd } from "./execTarget";
import { cgroupDirOf, cgroupDirsOf, moveIntoCgroups } from "../cgroup/membership";
import { openContainerPty, type PtyPair } from "./pty";
import { setWindowSize, type WindowSize } from "../sys/terminal";
import type { ContainerSpec } from "./spec";
import { INIT_ENTRY_PATH, type ExecRequest } from "./initProtocol";
import type { ExecWorkerData, ExecWorkerEvent, ExecWorkerRequest } from "./execWorker";
import { socketPair } from "../sys/unixSocket";
import { sendRequestFds } from "./requestFds";
import { hasOwnUserNamespace } from "./execTarget";
import { assertInitReachable } from "./initReach";

/** The running container to exec into. */
export interface ExecTarget {
  /** Host pid of the container's PID 1. */
  pid: number;
  /** Its start time (readPidStartTime): when given, a pid reused by another process is refused. */
  pidStartTime?: number;
  /** The container's spec: credentials, capabilities, no_new_privs, env, cwd and rlimits come from it. */
  spec: ContainerSpec;
  /**
   * Cgroups to place the process in (directories or their cgroup.procs files). Default: every
   * cgroup the container's PID 1 is in; [] leaves the process in the executor's cgroups.
   */
  cgroupPaths?: string[];
  /** The container's compiled seccomp filter; required when spec.linux.seccomp is set. */
  seccompFilter?: Buffer;
}

/** What to run and how. */
export interface ExecOptions {
  args: string[];
  /** "K=V" entries added to (and overriding) the spec's env. */
  env?: string[];
  /** Working directory inside the container; default spec.process.cwd. */
  cwd?: string;
  /** "uid[:gid]" or "name[:group]" looked up in the container; default spec.process.user. */
  user?: string;
  /** Run on a new pty of the container's devpts as the controlling terminal; stdio is then ignored. */
  tty?: boolean;
  /** Initial size of the pty. */
  ttySize?: WindowSize;
  /** fds 0-2 of the process (see Launcher); they must stay open until execInContainer settles. Default "ignore". */
  stdio?: [StdioChoice, StdioChoice, StdioChoice];
  /**
   * Resolve once the process is set up, and let it exec only when this executor closes (close()):
   * it is then never this process's child when it exits (`exec --detach`). Its `exited` never settles.
   */
  detach?: boolean;
  /** fds of this process to become the program's fds 3, 4, ...; open until exec() settles. */
  extraFds?: number[];
}

/** The pty master of a tty exec. */
export interface ExecTerminal {
  /** Master fd, owned by the caller: close it when done (after `exited`). */
  master: number;
  /** The slave's name inside the container (/dev/pts/N). */
  name: string;
  resize(size: WindowSize): void;
}

/** A process started in a container. */
export interface ExecProcess {
  /** Host pid of the process. */
  pid: number;
  /** Sends a signal through a pidfd (never reaches a recycled pid); a no-op once exited. */
  kill(signal?: NodeJS.Signals | number): void;
  exited: Promise<ContainerExit>;
  terminal?: ExecTerminal;
}

function mergeEnv(base: readonly string[], extra: readonly string[]): string[] {
  const out = new Map<string, string>();
  for (const e of [...base, ...extra]) out.set(e.slice(0, e.indexOf("=")), e);
  return [...out.values()];
}

function checkOptions(target: ExecTarget, opts: ExecOptions): void {
  if (!Number.isInteger(target.pid) || target.pid <= 0) throw new ValidationError("pid", `${String(target.pid)} is not a process id`);
  if (!Array.isArray(opts.args) || opts.args.length === 0 || opts.args.some((a) => typeof a !== "string")) {
    throw new ValidationError("args", "must be a non-empty list of strings", "give the command to run after --");
  }
  for (const e of opts.env ?? []) {
    if (e.indexOf("=") <= 0) throw new ValidationError("env", `'${e}' is not KEY=VALUE`);
  }
  if (opts.cwd !== undefined && !opts.cwd.startsWith("/")) throw new ValidationError("cwd", `'${opts.cwd}' is not an absolute path`);
  if (opts.user !== undefined && opts.user === "") throw new ValidationError("user", "is empty", 'use "uid[:gid]" or "name[:group]"');
  if (target.spec.linux?.seccomp !== undefined && target.seccompFilter === undefined) {
    throw new ValidationError("seccompFilter", "the container has a seccomp filter, but its compiled form was not given", "pass the BPF the container was started with");
  }
}

/**
 * Runs processes in running containers. One worker thread serves every exec; it keeps the event
 * loop alive only while an exec is in flight. Call close() to stop it early.
 */
export class Executor {
  private worker: Worker | undefined;
  private readonly inits = new Map<number, InitTracker>();
  private nextId = 1;
  private active = 0;

  /** Starts `opts.args` in the container; resolves once the program has been exec'd. */
  async exec(target: ExecTarget, opts: ExecOptions): Promise<ExecProcess> {
    checkOptions(target, opts);
    const targetPidfd = openVerifiedPidfd(target.pid, target.pidStartTime);
    let pty: PtyPair | undefined;
    let ownPidfd = -1;
    const id = this.nextId++;
    const init = new InitTracker({ name: "exec init", spawnContext: "spawn exec init in the container", failureContext: "exec" });
    this.inits.set(id, init);
    this.hold();
    let initPid = 0;
    // A container with a user namespace of its own gets an init made in it by nsspawn, and its fds by this channel.
    let channel: [number, number] | undefined;
    try {
      if (hasOwnUserNamespace(targetPidfd, target.pid)) {
        assertInitReachable("pid (a container with a user namespace)");
        channel = socketPair();
      }
    } catch (err) {
      closeSync(targetPidfd);
      this.inits.delete(id);
      this.release();
      throw err;
    }
    const closeInitEnd = (): void => {
      if (channel !== undefined && channel[1] >= 0) closeSync(channel[1]);
      if (channel !== undefined) channel[1] = -1;
    };
    try {
      if (opts.tty === true) {
        pty = openContainerPty(target.pid, opts.ttySize);
        // The pid could have been reused while its root was opened: re-prove it is still the container.
        assertAlive(targetPidfd, target.pid);
      }
      this.post(channel === undefined ? { op: "spawn", id, targetPidfd } : { op: "spawn", id, targetPidfd, channelFd: channel[1] });
      initPid = await init.spawned.finally(closeInitEnd);
      ownPidfd = libc.pidfdOpen(initPid);
      await init.ready;
      await this.joinCgroups(target, initPid);
      const spec = structuredClone(target.spec);
      spec.process.args = [...opts.args];
      spec.process.env = mergeEnv(spec.process.env ?? [], opts.env ?? []);
      if (opts.cwd !== undefined) spec.process.cwd = opts.cwd;
      spec.process.terminal = opts.tty === true;
      const stdio: ExecRequest["stdio"] = pty !== undefined
        ? [pty.slave, pty.slave, pty.slave]
        : ((opts.stdio ?? ["ignore", "ignore", "ignore"]).map((c, i) => (c === "inherit" ? i : c === "ignore" ? null : c)) as ExecRequest["stdio"]);
      const req: ExecRequest = { kind: "exec", spec, stdio, terminal: pty !== undefined };
      if (opts.user !== undefined) req.user = opts.user;
      if (opts.detach === true) req.detach = true;
      if (opts.extraFds !== undefined && opts.extraFds.length > 0) req.extraFds = [...opts.extraFds];
      if (target.seccompFilter !== undefined) req.seccompBpf = target.seccompFilter.toString("base64");
      if (channel !== undefined) sendRequestFds(channel[0], req);
      this.post({ op: "send", id, line: `${JSON.stringify(req)}\n` });
      await (opts.detach === true ? init.prepared : init.started);
    } catch (err) {
      if (initPid > 0) {
        if (init.adoptedChild !== undefined) init.adoptedChild.signal(signalNumber("SIGKILL"));
        else this.post({ op: "kill", id, signal: "SIGKILL" });
        await init.exited;
      }
      closeInitEnd();
      if (channel !== undefined) closeSync(channel[0]);
      this.inits.delete(id);
      this.release();
      if (ownPidfd >= 0) closeSync(ownPidfd);
      if (pty !== undefined) {
        closeSync(pty.master);
        closeSync(pty.slave);
      }
      // A fork into a PID namespace whose init died, or an init that lost its target: say so plainly.
      try {
        assertAlive(targetPidfd, target.pid);
      } finally {
        closeSync(targetPidfd);
      }
      throw err;
    }
    closeSync(targetPidfd);
    if (channel !== undefined) closeSync(channel[0]);
    // The process holds its own copies now; ours would keep the master from seeing the hangup.
    if (pty !== undefined) closeSync(pty.slave);
    const pidfd = ownPidfd;
    let done = false;
    const exited = init.exited.finally(() => {
      done = true;
      closeSync(pidfd);
      this.inits.delete(id);
      this.release();
    });
    const proc: ExecProcess = {
      pid: initPid,
      exited,
      kill: (signal: NodeJS.Signals | number = "SIGTERM") => {
        if (done) return;
        const n = typeof signal === "number" ? signal : signalNumber(signal);
        try {
          libc.pidfdSendSignal(pidfd, n);
        } catch (err) {
          // ESRCH: it exited and `exited` has not settled yet; signalling the dead is the no-op promised above.
          if (!(err instanceof SysError && err.code === "ESRCH")) throw err;
        }
      },
    };
    if (pty !== undefined) {
      const master = pty.master;
      proc.terminal = { master, name: pty.name, resize: (size) => setWindowSize(master, size) };
    }
    return proc;
  }

  /** Stops the worker; running exec'd processes keep running (they are the container's now). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w !== undefined) await w.terminate();
  }

  private async joinCgroups(target: ExecTarget, initPid: number): Promise<void> {
    let dirs: string[];
    if (target.cgroupPaths !== undefined) dirs = target.cgroupPaths.map(cgroupDirOf);
    else {
      // Only where the container's cgroup differs from the one the init was born in (ours).
      const own = new Set(cgroupDirsOf(initPid));
      dirs = cgroupDirsOf(target.pid).filter((d) => !own.has(d));
    }
    try {
      await moveIntoCgroups(dirs, initPid);
    } catch (err) {
      throw withContext(err, "join the container's cgroup");
    }
  }

  private ensureWorker(): Worker {
    if (this.worker !== undefined) return this.worker;
    const data: ExecWorkerData = { initPath: INIT_ENTRY_PATH };
    const w = new Worker(join(__dirname, "execWorker.js"), { workerData: data });
    w.on("message", (ev: ExecWorkerEvent) => this.inits.get(ev.id)?.handle(ev));
    w.on("error", (err) => {
      // The worker's children lose their exit reporting with it: settle everything waiting.
      for (const init of this.inits.values()) init.handle({ op: "lost", error: err });
    });
    this.worker = w;
    return w;
  }

  private post(req: ExecWorkerRequest): void {
    this.ensureWorker().postMessage(req);
  }

  private hold(): void {
    if (this.active++ === 0) this.ensureWorker().ref();
  }

  private release(): void {
    if (--this.active === 0) this.worker?.unref();
  }
}

let shared: Executor | undefined;

/**
 * Runs a new process inside a running container: all its namespaces (mount included), its
 * cgroups, seccomp filter, capabilities, no_new_privs, user, env and cwd. Throws
 * ContainerNotRunningError when the target is gone, ValidationError for bad options or an unknown
 * user, ContainerStartError when a setup step fails.
 */
export function execInContainer(target: ExecTarget, opts: ExecOptions): Promise<ExecProcess> {
  shared ??= new Executor();
  return shared.exec(target, opts);
}

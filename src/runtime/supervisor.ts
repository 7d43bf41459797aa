// The shared supervisor: one long-lived process per run dir that is the parent of every container
// it starts (so it learns their exit codes), applies restart policies, rotates logs and answers
// clients on a unix socket. Containers do not depend on it: their stdio goes straight to files, so
// if it dies they keep running and the next supervisor adopts them from their state files.
import { closeSync, constants as fsConstants, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { HostformError, SysError, ValidationError, hasCode } from "../sys/errors";
import * as libc from "../sys/libc";
import { openCgroupDriver, type CgroupDriver } from "../cgroup/driver";
import { Launcher, type ContainerExit, type LaunchedContainer, type PreparedContainer, type StdioChoice } from "./launcher";
import { validateSpec } from "./spec";
import { checkProgram, checkRoot } from "./lifecycleChecks";
import { DEFAULT_LOG_FILES, DEFAULT_LOG_MAX_BYTES, openLogForAppend, rotateIfNeeded } from "./logsFile";
import { BACKOFF_RESET_MS, backoffDelay, formatRestartPolicy, parseRestartPolicy, shouldRestart } from "./restartPolicy";
import { LineDecoder } from "./initProtocol";
import {
  encodeError, supervisorSocketPath, type CreateOptions, type SupervisorRequest, type SupervisorResponse, type UpdateOptions, type WaitResult,
} from "./socketProtocol";
import {
  isSameProcess, listStateIds, makeContainerDir, processStartTime, readState, removeContainerDir, validateId, writeState,
  type ContainerState,
} from "./state";
import { TERMINATING_SIGNALS, parseSignal, signalExitStatus, signalNumber } from "../sys/signals";

/** Tunables; the defaults suit real use, tests shorten them. */
export interface SupervisorOptions {
  runDir: string;
  /** Exit after this long with no live container and no client (default 30 s). */
  idleExitMs?: number;
  /** Keep one warm init for this long after a create, then none (default 3 s): idle inits cost ~40 MB each. */
  poolIdleMs?: number;
  /** How often adopted containers are checked and logs rotated (default 1 s). */
  tickMs?: number;
}

/** One container the supervisor knows. */
interface Supervised {
  state: ContainerState;
  prepared?: PreparedContainer;
  launched?: LaunchedContainer;
  /** Adopted from a previous supervisor: only its pid and start time are known. */
  adopted: boolean;
  /** fds the next start hands to the init (closed once it copied them). */
  stdioFds: number[];
  stoppedByUser: boolean;
  restartTimer?: NodeJS.Timeout;
  backoffAttempt: number;
  waiters: Array<(r: WaitResult) => void>;
  exitWaiters: Array<() => void>;
  queue: Promise<unknown>;
}

function now(): string {
  return new Date().toISOString();
}

function exitCodeOf(exit: ContainerExit): number | null {
  if (exit.code !== null) return exit.code;
  if (exit.signal !== null) return signalExitStatus(exit.signal);
  return null;
}

/** Start of the exit note of every exit whose code the supervisor could not learn (exitCode null). */
export const UNKNOWN_EXIT_NOTE = "exit code unknown";

const RESTART_NOTE = /(?:; )?(?:on-failure counts an unknown exit code as a failure; )?restarting in \d+ ms$/;

/** An exit note without the "restarting in N ms" that onExit appended; undefined when nothing else is left. */
function withoutRestartNote(note: string | undefined): string | undefined {
  const rest = note?.replace(RESTART_NOTE, "");
  return rest === undefined || rest === "" ? undefined : rest;
}

/** Records the latest run's launcher warnings (a restart replaces the earlier run's). */
function setWarnings(state: ContainerState, warnings: readonly string[]): void {
  if (warnings.length > 0) state.warnings = [...warnings];
  else delete state.warnings;
}

export class Supervisor {
  private readonly containers = new Map<string, Supervised>();
  private readonly creating = new Set<string>();
  private launcher?: Launcher;
  private driver?: CgroupDriver;
  private server?: Server;
  private readonly connections = new Set<Socket>();
  private tickTimer?: NodeJS.Timeout;
  private idleSince = Date.now();
  private lastCreate = 0;
  private readonly idleExitMs: number;
  private readonly poolIdleMs: number;
  private readonly tickMs: number;
  private readonly lockPath: string;
  private readonly socketPath: string;
  private exiting = false;

  constructor(private readonly options: SupervisorOptions) {
    this.idleExitMs = options.idleExitMs ?? 30_000;
    this.poolIdleMs = options.poolIdleMs ?? 3_000;
    this.tickMs = options.tickMs ?? 1_000;
    this.lockPath = join(options.runDir, "supervisor.lock");
    this.socketPath = supervisorSocketPath(options.runDir);
  }

  /** Takes the run dir's lock, adopts containers from state and listens. False if another supervisor holds the lock. */
  async start(): Promise<boolean> {
    mkdirSync(this.options.runDir, { recursive: true, mode: 0o711 });
    if (!this.lock()) return false;
    this.adoptAll();
    rmSync(this.socketPath, { force: true });
    this.server = createServer((sock) => this.onConnection(sock));
    await new Promise<void>((res, rej) => {
      this.server!.once("error", rej);
      this.server!.listen(this.socketPath, () => res());
    });
    this.tickTimer = setInterval(() => this.tick(), this.tickMs);
    return true;
  }

  /** Stops listening and exits the process, leaving containers running. */
  async shutdown(): Promise<void> {
    if (this.exiting) return;
    this.exiting = true;
    if (this.tickTimer !== undefined) clearInterval(this.tickTimer);
    for (const rec of this.containers.values()) if (rec.restartTimer !== undefined) clearTimeout(rec.restartTimer);
    this.server?.close();
    rmSync(this.socketPath, { force: true });
    await this.launcher?.close({ killRunning: false });
    this.unlock();
  }

  // ---- lock -------------------------------------------------------------------------------

  private lock(): boolean {
    for (let i = 0; i < 5; i++) {
      try {
        const fd = openSync(this.lockPath, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
        writeFileSync(fd, `${process.pid} ${processStartTime(process.pid)}\n`);
        closeSync(fd);
        return true;
      } catch (err) {
        if (!hasCode(err, "EEXIST")) throw SysError.fromNode(err, "take the supervisor lock");
      }
      let holder: [number, number] | undefined;
      try {
        const [p, t] = readFileSync(this.lockPath, "utf8").trim().split(" ").map(Number);
        if (p !== undefined && t !== undefined) holder = [p, t];
      } catch (err) {
        if (!hasCode(err, "ENOENT")) throw SysError.fromNode(err, "read the supervisor lock");
        continue;
      }
      if (holder !== undefined && isSameProcess(holder[0], holder[1])) return false;
      // The holder died without cleaning up (SIGKILL): the lock is stale.
      rmSync(this.lockPath, { force: true });
    }
    return false;
  }

  private unlock(): void {
    try {
      const [p] = readFileSync(this.lockPath, "utf8").trim().split(" ").map(Number);
      if (p === process.pid) rmSync(this.lockPath, { force: true });
    } catch {
      // Gone already.
    }
  }

  // ---- connections ------------------------------------------------------------------------

  private onConnection(sock: Socket): void {
    this.connections.add(sock);
    const decoder = new LineDecoder();
    let handled = false;
    sock.setEncoding("utf8");
    sock.on("data", (chunk: string) => {
      if (handled) return;
      let reqs: unknown[];
      try {
        reqs = decoder.push(chunk);
      } catch (err) {
        handled = true;
        this.reply(sock, { ok: false, error: encodeError(new ValidationError("request", `is not JSON: ${(err as Error).message}`)) });
        return;
      }
      if (reqs.length === 0) return;
      handled = true;
      this.handle(reqs[0] as SupervisorRequest).then(
        (result) => this.reply(sock, { ok: true, result }),
        (err: unknown) => this.reply(sock, { ok: false, error: encodeError(err) }),
      );
    });
    sock.on("error", () => undefined);
    sock.on("close", () => {
      this.connections.delete(sock);
      this.idleSince = Date.now();
    });
  }

  private reply(sock: Socket, res: SupervisorResponse): void {
    if (!sock.destroyed) sock.end(`${JSON.stringify(res)}\n`);
  }

  private async handle(req: SupervisorRequest): Promise<unknown> {
    switch (req.op) {
      case "ping":
        return { pid: process.pid, containers: this.containers.size };
      case "create":
        return this.create(req.id, req.spec, req.options ?? {});
      case "start":
        return this.serial(req.id, (rec) => this.startContainer(rec));
      case "state":
        return this.get(req.id).state;
      case "list":
        return [...this.containers.values()].map((r) => r.state).sort((a, b) => a.id.localeCompare(b.id));
      case "kill":
        return this.serial(req.id, (rec) => this.kill(rec, req.signal));
      case "stop":
        return this.serial(req.id, (rec) => this.stop(rec, req.timeout));
      case "delete":
        return this.serial(req.id, (rec) => this.delete(rec, req.force === true));
      case "wait":
        return this.wait(this.get(req.id));
      case "update":
        return this.serial(req.id, (rec) => this.update(rec, req));
      case "shutdown":
        setImmediate(() => void this.shutdown().then(() => process.exit(0)));
        return { pid: process.pid };
      default:
        throw new ValidationError("op", `unknown request ${JSON.stringify((req as { op: unknown }).op)}`);
    }
  }

  private get(id: string): Supervised {
    const rec = this.containers.get(validateId(id));
    if (rec === undefined) throw new ValidationError("id", `container ${id} does not exist`, "list containers with `hostform ps`");
    return rec;
  }

  /** Runs fn after every earlier operation on the same container. */
  private serial<T>(id: string, fn: (rec: Supervised) => Promise<T> | T): Promise<T> {
    const rec = this.get(id);
    const next = rec.queue.then(() => fn(rec));
    rec.queue = next.catch(() => undefined);
    return next;
  }

  private cgroups(): CgroupDriver {
    this.driver ??= openCgroupDriver();
    return this.driver;
  }

  private theLauncher(): Launcher {
    this.launcher ??= new Launcher({ poolSize: 0 });
    return this.launcher;
  }

  private save(rec: Supervised): void {
    writeState(rec.state);
  }

  private isLive(rec: Supervised): boolean {
    return rec.state.status === "created" || rec.state.status === "running" || rec.state.status === "creating" || rec.restartTimer !== undefined;
  }

  // ---- create / start ---------------------------------------------------------------------

  private async create(id: string, input: unknown, o: CreateOptions): Promise<ContainerState> {
    validateId(id);
    if (this.containers.has(id) || this.creating.has(id)) throw new ValidationError("id", `container ${id} already exists`, "pick another id or delete the old container");
    this.creating.add(id);
    try {
      return await this.createUnlocked(id, input, o);
    } finally {
      this.creating.delete(id);
    }
  }

  private async createUnlocked(id: string, input: unknown, o: CreateOptions): Promise<ContainerState> {
    // Everything that can be checked is checked before anything is made.
    const spec = validateSpec(input);
    const bundle = o.bundle ?? process.cwd();
    spec.root.path = checkRoot(spec, bundle);
    checkProgram(spec, spec.root.path);
    const policy = parseRestartPolicy(o.restartPolicy, "restartPolicy");
    const stopSignal = parseSignal(o.stopSignal ?? spec.annotations?.["org.opencontainers.image.stopSignal"] ?? "SIGTERM", "stopSignal");
    const stopTimeout = o.stopTimeout ?? 10;
    if (!(Number.isFinite(stopTimeout) && stopTimeout >= 0)) throw new ValidationError("stopTimeout", `${stopTimeout} is not a number of seconds`, "use 0 or more");
    const logMaxBytes = o.logMaxBytes ?? DEFAULT_LOG_MAX_BYTES;
    const logFiles = o.logFiles ?? DEFAULT_LOG_FILES;
    if (!(Number.isInteger(logMaxBytes) && logMaxBytes > 0)) throw new ValidationError("logMaxBytes", `${logMaxBytes} is not a positive size`, "give bytes, e.g. 10485760");
    if (!(Number.isInteger(logFiles) && logFiles >= 0)) throw new ValidationError("logFiles", `${logFiles} is not a count`, "use 0 or more");
    const driver = this.cgroups();
    const ownsCgroup = o.cgroup === undefined;
    const cgroup = o.cgroup ?? id;
    if (!ownsCgroup && !driver.exists(cgroup)) throw new ValidationError("cgroup", `cgroup ${cgroup} does not exist under hostform's parent`, "create it first or omit it");
    if (ownsCgroup) {
      if (driver.exists(cgroup)) throw new ValidationError("id", `cgroup hostform/${cgroup} already exists`, "delete the stale cgroup or pick another id");
      driver.normalize(o.limits, "limits");
    }

    const dir = makeContainerDir(id);
    const logPath = join(dir, "container.log");
    const rec: Supervised = {
      adopted: false, stdioFds: [], stoppedByUser: false, backoffAttempt: 0, waiters: [], exitWaiters: [], queue: Promise.resolve(),
      state: {
        ociVersion: spec.ociVersion, id, status: "creating", pid: 0, bundle, annotations: spec.annotations ?? {},
        pidStartTime: 0, created: now(), exitCode: null, signal: null, restartCount: 0,
        restartPolicy: formatRestartPolicy(policy), stopSignal, stopTimeout, cgroup, ownsCgroup, logPath, logMaxBytes, logFiles,
        stdio: "log", spec,
      },
    };
    if (o.seccompBpf !== undefined && o.seccompBpf !== "none") rec.state.seccompPath = join(dir, "seccomp.bpf");
    let madeCgroup = false;
    try {
      // A record on disk from the first moment, so a supervisor dying mid-create leaves something the next one cleans.
      if (rec.state.seccompPath !== undefined) writeFileSync(rec.state.seccompPath, Buffer.from(o.seccompBpf!, "base64"), { mode: 0o600 });
      writeState(rec.state);
      if (o.stdio?.kind === "client") {
        const pid = o.stdio.pid;
        if (!Number.isInteger(pid) || pid <= 0) throw new ValidationError("stdio.pid", `${pid} is not a process id`);
        rec.state.stdio = [0, 1, 2].map((fd) => `/proc/${pid}/fd/${fd}`);
      }
      if (ownsCgroup) {
        driver.create(cgroup, o.limits);
        madeCgroup = true;
      }
      await this.prepare(rec);
    } catch (err) {
      this.closeStdio(rec);
      if (madeCgroup) await driver.delete(cgroup).catch(() => undefined);
      removeContainerDir(id);
      throw err;
    }
    this.containers.set(id, rec);
    this.lastCreate = Date.now();
    return rec.state;
  }

  /** Opens the container's stdio for the next start: client fds through /proc, else the log. */
  private openStdio(rec: Supervised): [StdioChoice, StdioChoice, StdioChoice] {
    this.closeStdio(rec);
    const out: StdioChoice[] = [];
    const paths = rec.state.stdio;
    for (const fd of [0, 1, 2]) {
      let opened: number | undefined;
      if (paths !== "log") {
        try {
          opened = openSync(paths[fd]!, fd === 0 ? "r" : "a");
        } catch (err) {
          // A socket cannot be reopened through /proc (ENXIO): that stream goes to the log.
          if (!hasCode(err, "ENXIO") && !hasCode(err, "ENOENT")) throw SysError.fromNode(err, `open stdio ${paths[fd]}`);
        }
      }
      if (opened === undefined) {
        if (fd === 0) {
          out.push("ignore");
          continue;
        }
        opened = openLogForAppend(rec.state.logPath);
      }
      rec.stdioFds.push(opened);
      out.push(opened);
    }
    return out as [StdioChoice, StdioChoice, StdioChoice];
  }

  private closeStdio(rec: Supervised): void {
    for (const fd of rec.stdioFds.splice(0)) closeSync(fd);
  }

  /** Places a waiting init in the cgroup: status created. */
  private async prepare(rec: Supervised): Promise<void> {
    const launcher = this.theLauncher();
    // A warm init for the start that usually follows, and for the next create; dropped when idle.
    launcher.setPoolSize(1);
    const stdio = this.openStdio(rec);
    const opts: Parameters<Launcher["prepare"]>[1] = {
      stdio,
      bundle: rec.state.bundle,
      onCgroup: (pid) => this.cgroups().addProcess(rec.state.cgroup, pid),
    };
    if (rec.state.seccompPath !== undefined) opts.seccompFilter = readFileSync(rec.state.seccompPath);
    const prepared = await launcher.prepare(rec.state.spec, opts);
    rec.prepared = prepared;
    rec.adopted = false;
    rec.state.status = "created";
    rec.state.pid = prepared.pid;
    rec.state.pidStartTime = processStartTime(prepared.pid) ?? 0;
    setWarnings(rec.state, prepared.warnings);
    this.save(rec);
    void prepared.exited.then((exit) => {
      // The init died before start (killed, or its launcher went away).
      if (rec.prepared === prepared && rec.state.status === "created") this.onExit(rec, exit, "the init exited before the container was started");
    });
  }

  private async startContainer(rec: Supervised): Promise<ContainerState> {
    if (rec.state.status !== "created" || rec.prepared === undefined) {
      throw new ValidationError("id", `container ${rec.state.id} is ${rec.state.status}, not created`, "only a created container can be started");
    }
    const prepared = rec.prepared;
    let launched: LaunchedContainer;
    try {
      launched = await prepared.start();
    } catch (err) {
      rec.prepared = undefined;
      this.closeStdio(rec);
      this.markStopped(rec, { code: null, signal: null }, `start failed: ${(err as Error).message}`);
      throw err;
    } finally {
      this.lastCreate = Date.now();
    }
    this.closeStdio(rec);
    rec.prepared = undefined;
    rec.launched = launched;
    rec.stoppedByUser = false;
    rec.state.status = "running";
    rec.state.started = now();
    delete rec.state.finished;
    rec.state.exitCode = null;
    rec.state.signal = null;
    delete rec.state.exitNote;
    setWarnings(rec.state, launched.warnings);
    this.save(rec);
    void launched.exited.then((exit) => {
      if (rec.launched === launched) this.onExit(rec, exit);
    });
    return rec.state;
  }

  // ---- settings in place ------------------------------------------------------------------

  /**
   * Changes restart policy and stop settings without touching the process. onExit and stop() read
   * them from the state, so the new values decide from the next exit or stop on; a restart already
   * pending that the new policy would not make is cancelled.
   */
  private update(rec: Supervised, u: UpdateOptions): ContainerState {
    // Every field is checked before anything changes.
    const policy = u.restartPolicy !== undefined ? parseRestartPolicy(u.restartPolicy, "restartPolicy") : undefined;
    const stopSignal = u.stopSignal !== undefined ? parseSignal(u.stopSignal, "stopSignal") : undefined;
    if (u.stopTimeout !== undefined && !(typeof u.stopTimeout === "number" && Number.isFinite(u.stopTimeout) && u.stopTimeout >= 0)) {
      throw new ValidationError("stopTimeout", `${JSON.stringify(u.stopTimeout)} is not a number of seconds`, "use 0 or more");
    }
    const before = { restartPolicy: rec.state.restartPolicy, stopSignal: rec.state.stopSignal, stopTimeout: rec.state.stopTimeout };
    if (policy !== undefined) rec.state.restartPolicy = formatRestartPolicy(policy);
    if (stopSignal !== undefined) rec.state.stopSignal = stopSignal;
    if (u.stopTimeout !== undefined) rec.state.stopTimeout = u.stopTimeout;
    try {
      this.save(rec);
    } catch (err) {
      // Memory and disk must agree: a later supervisor adopts what is on disk.
      Object.assign(rec.state, before);
      throw err;
    }
    if (policy !== undefined && rec.restartTimer !== undefined && !shouldRestart(policy, rec.state.exitCode, rec.state.restartCount, rec.stoppedByUser)) {
      this.cancelRestart(rec);
      const note = withoutRestartNote(rec.state.exitNote);
      if (note === undefined) delete rec.state.exitNote;
      else rec.state.exitNote = note;
      this.save(rec);
      this.settleWaiters(rec);
    }
    return rec.state;
  }

  // ---- exits and restarts -------------------------------------------------------------------

  private markStopped(rec: Supervised, exit: ContainerExit, note?: string): void {
    rec.launched = undefined;
    rec.prepared = undefined;
    rec.state.status = "stopped";
    rec.state.finished = now();
    rec.state.exitCode = exitCodeOf(exit);
    rec.state.signal = exit.signal;
    if (note !== undefined) rec.state.exitNote = note;
    else delete rec.state.exitNote;
    this.save(rec);
    for (const w of rec.exitWaiters.splice(0)) w();
  }

  private onExit(rec: Supervised, exit: ContainerExit, note?: string): void {
    const ranMs = rec.state.started !== undefined ? Date.now() - Date.parse(rec.state.started) : 0;
    const wasRunning = rec.state.status === "running";
    this.markStopped(rec, exit, note ?? (exitCodeOf(exit) === null ? UNKNOWN_EXIT_NOTE : undefined));
    this.idleSince = Date.now();
    const policy = parseRestartPolicy(rec.state.restartPolicy);
    if (wasRunning && shouldRestart(policy, rec.state.exitCode, rec.state.restartCount, rec.stoppedByUser)) {
      if (ranMs >= BACKOFF_RESET_MS) rec.backoffAttempt = 0;
      const delay = backoffDelay(rec.backoffAttempt++);
      // Said out loud: the restart was decided without knowing whether the run failed.
      const why = rec.state.exitCode === null && policy.kind === "on-failure" ? "on-failure counts an unknown exit code as a failure; " : "";
      rec.state.exitNote = `${rec.state.exitNote !== undefined ? `${rec.state.exitNote}; ` : ""}${why}restarting in ${delay} ms`;
      this.save(rec);
      rec.restartTimer = setTimeout(() => {
        rec.restartTimer = undefined;
        rec.queue = rec.queue.then(() => this.restart(rec)).catch(() => undefined);
      }, delay);
      return;
    }
    this.settleWaiters(rec);
  }

  private async restart(rec: Supervised): Promise<void> {
    if (rec.stoppedByUser || rec.state.status !== "stopped" || !this.containers.has(rec.state.id)) {
      this.settleWaiters(rec);
      return;
    }
    rec.state.restartCount++;
    try {
      await this.prepare(rec);
      await this.startContainer(rec);
    } catch (err) {
      // A failed restart counts as a failed run: the policy decides again, with a longer back-off.
      this.closeStdio(rec);
      rec.state.status = "running";
      rec.state.started = now();
      this.onExit(rec, { code: null, signal: null }, `restart failed: ${(err as Error).message}`);
    }
  }

  private settleWaiters(rec: Supervised): void {
    if (rec.restartTimer !== undefined || rec.state.status !== "stopped") return;
    const r: WaitResult = { exitCode: rec.state.exitCode, signal: rec.state.signal };
    if (rec.state.exitNote !== undefined) r.exitNote = rec.state.exitNote;
    for (const w of rec.waiters.splice(0)) w(r);
  }

  private wait(rec: Supervised): Promise<WaitResult> {
    return new Promise((res) => {
      rec.waiters.push(res);
      this.settleWaiters(rec);
    });
  }

  private waitExit(rec: Supervised, timeoutMs: number): Promise<boolean> {
    if (rec.state.status !== "running" && rec.state.status !== "created") return Promise.resolve(true);
    return new Promise((res) => {
      const timer = setTimeout(() => res(false), timeoutMs);
      rec.exitWaiters.push(() => {
        clearTimeout(timer);
        res(true);
      });
    });
  }

  // ---- kill / stop / delete -----------------------------------------------------------------

  private signal(rec: Supervised, sig: NodeJS.Signals): void {
    const num = signalNumber(sig);
    if (rec.launched !== undefined) {
      try {
        libc.pidfdSendSignal(rec.launched.pidfd, num);
      } catch (err) {
        // Exited already, its exit not yet seen: nothing to signal.
        if (!hasCode(err, "ESRCH")) throw err;
      }
    } else if (rec.state.pid > 0 && isSameProcess(rec.state.pid, rec.state.pidStartTime)) {
      try {
        process.kill(rec.state.pid, sig);
      } catch (err) {
        if (!hasCode(err, "ESRCH")) throw SysError.fromNode(err, `kill ${rec.state.pid}`);
      }
    }
  }

  private kill(rec: Supervised, signal: string): ContainerState {
    const sig = parseSignal(signal);
    if (rec.state.status !== "running" && rec.state.status !== "created") {
      throw new ValidationError("id", `container ${rec.state.id} is ${rec.state.status}`, "only a created or running container can be signalled");
    }
    if (TERMINATING_SIGNALS.has(sig)) rec.stoppedByUser = true;
    this.signal(rec, sig);
    return rec.state;
  }

  private cancelRestart(rec: Supervised): void {
    if (rec.restartTimer !== undefined) clearTimeout(rec.restartTimer);
    rec.restartTimer = undefined;
  }

  private async stop(rec: Supervised, timeout?: number): Promise<ContainerState> {
    rec.stoppedByUser = true;
    this.cancelRestart(rec);
    if (rec.state.status === "running" || rec.state.status === "created") {
      const seconds = timeout ?? rec.state.stopTimeout;
      const exited = this.waitExit(rec, seconds * 1000);
      this.signal(rec, rec.state.stopSignal as NodeJS.Signals);
      if (!(await exited)) await this.killAll(rec);
    }
    this.settleWaiters(rec);
    return rec.state;
  }

  /** SIGKILL to every process in the container's cgroup, then waits for PID 1's exit to be seen. */
  private async killAll(rec: Supervised): Promise<void> {
    const exited = this.waitExit(rec, 10_000);
    await this.cgroups().kill(rec.state.cgroup, "SIGKILL");
    // The cgroup may not hold PID 1 (e.g. it was moved out): signal it directly as well.
    this.signal(rec, "SIGKILL");
    if (!(await exited)) throw new HostformError(`container ${rec.state.id}: pid ${rec.state.pid} survived SIGKILL`);
  }

  private async delete(rec: Supervised, force: boolean): Promise<{ id: string }> {
    const id = rec.state.id;
    if (rec.state.status === "running" || rec.state.status === "created") {
      if (!force) throw new ValidationError("id", `container ${id} is ${rec.state.status}`, "stop it first or delete with --force");
      rec.stoppedByUser = true;
      await this.killAll(rec);
    }
    this.cancelRestart(rec);
    this.closeStdio(rec);
    if (rec.state.ownsCgroup) await this.cgroups().delete(rec.state.cgroup);
    removeContainerDir(id);
    this.containers.delete(id);
    this.settleWaiters(rec);
    this.idleSince = Date.now();
    return { id };
  }

  // ---- adoption, ticks, idle exit -----------------------------------------------------------

  private adoptAll(): void {
    for (const id of listStateIds()) {
      let state: ContainerState | undefined;
      try {
        state = readState(id);
      } catch {
        continue;
      }
      if (state === undefined) continue;
      const rec: Supervised = { state, adopted: true, stdioFds: [], stoppedByUser: false, backoffAttempt: 0, waiters: [], exitWaiters: [], queue: Promise.resolve() };
      const alive = state.pid > 0 && isSameProcess(state.pid, state.pidStartTime);
      if (state.status === "creating") {
        // A supervisor died mid-create: undo it (nothing half-made survives).
        this.undoCreate(rec);
        continue;
      }
      this.containers.set(id, rec);
      if (state.status === "created") {
        // The waiting init exits when its launcher (the old supervisor) goes away.
        if (alive) process.kill(state.pid, "SIGKILL");
        this.markStopped(rec, { code: null, signal: null }, "the supervisor holding the created container exited before start");
      } else if (state.status === "running" && !alive) {
        this.onExit(rec, { code: null, signal: null }, `${UNKNOWN_EXIT_NOTE}: it exited while no supervisor watched it`);
      } else if (state.status === "stopped" && state.exitNote?.includes("restarting in") === true) {
        state.status = "running";
        this.onExit(rec, { code: state.exitCode, signal: state.signal as NodeJS.Signals | null }, withoutRestartNote(state.exitNote));
      }
    }
  }

  private undoCreate(rec: Supervised): void {
    const { id, cgroup, ownsCgroup, pid, pidStartTime } = rec.state;
    if (pid > 0 && isSameProcess(pid, pidStartTime)) process.kill(pid, "SIGKILL");
    if (ownsCgroup && this.cgroups().exists(cgroup)) {
      void this.cgroups().kill(cgroup).then(() => this.cgroups().delete(cgroup)).catch(() => undefined);
    }
    removeContainerDir(id);
  }

  private tick(): void {
    for (const rec of this.containers.values()) {
      if (rec.state.status !== "running") continue;
      // Adopted containers are not our children: their exit is only seen by polling.
      if (rec.adopted && !isSameProcess(rec.state.pid, rec.state.pidStartTime)) {
        this.onExit(rec, { code: null, signal: null }, `${UNKNOWN_EXIT_NOTE}: it was adopted from an earlier supervisor, so it is not this one's child`);
        continue;
      }
      if (rec.state.stdio === "log" || rec.state.stdio.length > 0) {
        try {
          rotateIfNeeded(rec.state.logPath, rec.state.logMaxBytes, rec.state.logFiles);
        } catch (err) {
          process.stderr.write(`supervisor: ${(err as Error).message}\n`);
        }
      }
    }
    if (this.launcher !== undefined && this.launcher.idleCount() > 0 && Date.now() - this.lastCreate > this.poolIdleMs) this.launcher.setPoolSize(0);
    const live = [...this.containers.values()].some((r) => this.isLive(r)) || this.creating.size > 0;
    if (live || this.connections.size > 0) {
      this.idleSince = Date.now();
      return;
    }
    if (Date.now() - this.idleSince >= this.idleExitMs) void this.shutdown().then(() => process.exit(0));
  }
}

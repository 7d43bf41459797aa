// The shared supervisor: one long-lived process per run dir that is the parent of every container
// it starts (so it learns their exit codes), applies restart policies, rotates logs and answers
// clients on a unix socket. Containers do not depend on it: their stdio goes straight to files, so
// if it dies they keep running and the next supervisor adopts them from their state files.
// This class ties the parts of this directory together and owns the table of containers; each
// request is one method here, run in order with the container's other operations.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type HostformError, NotFoundError, ValidationError, errorToWire, withContext } from "../../sys/errors";
import { openCgroupDriver, type CgroupDriver } from "../../cgroup/driver";
import type { ContainerExit } from "../launcher";
import { rotateIfNeeded } from "../logsFile";
import { supervisorSocketPath, type CreateOptions, type ListResult, type UpdateOptions, type WaitResult } from "../socketProtocol";
import { isSameProcess, removeContainerDir, validateId, writeState, type ContainerState } from "../state";
import { adoptLeftContainers, type Adopter } from "./adoption";
import { ContainerLaunch } from "./containerLaunch";
import { ContainerRecord, UNKNOWN_EXIT_NOTE } from "./containerRecord";
import { setUpContainer, tearDownContainer } from "./containerSetup";
import { killContainer, killRequest, stopContainer } from "./containerSignals";
import { closeStdio } from "./containerStdio";
import { checkCreate, checkUpdate } from "./createChecks";
import { RequestServer, type SupervisorOps } from "./requestServer";
import { RunDirLock } from "./runDirLock";

/** Tunables; the defaults suit real use, tests shorten them. */
export interface SupervisorOptions {
  runDir: string;
  /** Exit after this long with no live container and no client (default 30 s). */
  idleExitMs?: number;
  /** Keep one warm init for this long after a create, then none (default 3 s): idle inits cost ~40 MB each. */
  poolIdleMs?: number;
  /** How often adopted containers are checked and logs rotated (default 1 s). */
  tickMs?: number;
  /** Where the supervisor reports what no client is waiting for (default: stderr, i.e. supervisor.log). */
  log?: (line: string) => void;
}

const INIT_EXIT_NOTE = "the init exited before the container was started";

export class Supervisor implements SupervisorOps {
  private readonly containers = new Map<string, ContainerRecord>();
  /** Containers whose state file could not be read at adoption, with the reason. */
  private readonly unreadable = new Map<string, HostformError>();
  private readonly creating = new Set<string>();
  private driver?: CgroupDriver;
  private readonly launch: ContainerLaunch;
  private readonly lock: RunDirLock;
  private readonly server: RequestServer;
  private readonly socketPath: string;
  private readonly idleExitMs: number;
  private readonly tickMs: number;
  private readonly log: (line: string) => void;
  private tickTimer?: NodeJS.Timeout;
  private idleSince = Date.now();
  private exiting = false;

  constructor(private readonly options: SupervisorOptions) {
    this.idleExitMs = options.idleExitMs ?? 30_000;
    this.tickMs = options.tickMs ?? 1_000;
    this.log = options.log ?? ((line) => process.stderr.write(`${new Date().toISOString()} supervisor: ${line}\n`));
    this.socketPath = supervisorSocketPath(options.runDir);
    this.lock = new RunDirLock(join(options.runDir, "supervisor.lock"));
    this.launch = new ContainerLaunch(() => this.cgroups(), options.poolIdleMs ?? 3_000);
    this.server = new RequestServer(this, () => {
      this.idleSince = Date.now();
    });
  }

  /** Takes the run dir's lock, adopts containers from state and listens. False if another supervisor holds the lock. */
  async serve(): Promise<boolean> {
    mkdirSync(this.options.runDir, { recursive: true, mode: 0o711 });
    if (!this.lock.acquire()) return false;
    adoptLeftContainers(this.adopter());
    await this.server.listen(this.socketPath);
    this.tickTimer = setInterval(() => this.tick(), this.tickMs);
    return true;
  }

  /** Stops listening and releases the lock, leaving containers running (pending restarts stay in their state). */
  async shutdown(): Promise<void> {
    if (this.exiting) return;
    this.exiting = true;
    if (this.tickTimer !== undefined) clearInterval(this.tickTimer);
    for (const rec of this.containers.values()) rec.dropTimer();
    this.server.close(this.socketPath);
    await this.launch.close();
    this.lock.release();
  }

  // ---- requests -----------------------------------------------------------------------------

  ping(): { pid: number; containers: number } {
    return { pid: process.pid, containers: this.containers.size };
  }

  async create(id: string, spec: unknown, options: CreateOptions): Promise<ContainerState> {
    validateId(id);
    if (this.containers.has(id) || this.creating.has(id) || this.unreadable.has(id)) {
      throw new ValidationError("id", `container ${id} already exists`, "pick another id or delete the old container");
    }
    this.creating.add(id);
    try {
      // Everything that can be checked is checked before anything is made.
      const plan = checkCreate(id, spec, options, this.cgroups());
      const rec = await setUpContainer(plan, {
        cgroups: this.cgroups(),
        newRecord: (state) => this.newRecord(state, false),
        prepare: (r) => this.launch.prepare(r, (exit) => this.onExit(r, exit, INIT_EXIT_NOTE)),
        report: (err, context) => this.report(err, context),
      });
      this.containers.set(id, rec);
      return rec.state;
    } finally {
      this.creating.delete(id);
    }
  }

  start(id: string): Promise<ContainerState> {
    return this.serial(id, async (rec) => {
      await this.launch.start(rec, (exit) => this.onExit(rec, exit));
      return rec.state;
    });
  }

  state(id: string): ContainerState {
    return this.get(id).state;
  }

  list(): ListResult {
    const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
    return {
      containers: [...this.containers.values()].map((r) => r.state).sort(byId),
      unreadable: [...this.unreadable].map(([id, error]) => ({ id, error: errorToWire(error) })).sort(byId),
    };
  }

  kill(id: string, signal: string): Promise<ContainerState> {
    return this.serial(id, (rec) => {
      killRequest(rec, signal);
      return rec.state;
    });
  }

  stop(id: string, timeout?: number): Promise<ContainerState> {
    return this.serial(id, async (rec) => {
      rec.stoppedByUser = true;
      rec.cancelRestart();
      await stopContainer(rec, this.cgroups(), timeout ?? rec.state.stopTimeout);
      rec.settleWaiters();
      return rec.state;
    });
  }

  delete(id: string, force: boolean): Promise<{ id: string }> {
    if (this.unreadable.has(validateId(id))) return Promise.resolve(this.deleteUnreadable(id, force));
    return this.serial(id, async (rec) => {
      if (rec.state.status === "running" || rec.state.status === "created") {
        if (!force) throw new ValidationError("id", `container ${id} is ${rec.state.status}`, "stop it first or delete with --force");
        rec.stoppedByUser = true;
        await killContainer(rec, this.cgroups());
      }
      rec.discardRestart();
      await tearDownContainer(rec, this.cgroups());
      this.containers.delete(id);
      rec.settleWaiters();
      this.idleSince = Date.now();
      return { id };
    });
  }

  wait(id: string): Promise<WaitResult> {
    return this.get(id).wait();
  }

  update(id: string, changes: UpdateOptions): Promise<ContainerState> {
    return this.serial(id, (rec) => {
      rec.changeSettings(checkUpdate(changes));
      return rec.state;
    });
  }

  shutdownSoon(): { pid: number } {
    setImmediate(() => void this.shutdown().then(() => process.exit(0)));
    return { pid: process.pid };
  }

  // ---- containers ---------------------------------------------------------------------------

  private get(id: string): ContainerRecord {
    const rec = this.containers.get(validateId(id));
    if (rec !== undefined) return rec;
    const unreadable = this.unreadable.get(id);
    if (unreadable !== undefined) throw unreadable;
    throw new NotFoundError("container", id, "list containers with `hostform ps`");
  }

  /** Runs fn after every earlier operation on the same container. */
  private serial<T>(id: string, fn: (rec: ContainerRecord) => Promise<T> | T): Promise<T> {
    const rec = this.get(id);
    return rec.serial(() => fn(rec));
  }

  private newRecord(state: ContainerState, adopted: boolean): ContainerRecord {
    return new ContainerRecord(state, { persist: writeState, report: (err, context) => this.report(err, context) }, adopted);
  }

  private cgroups(): CgroupDriver {
    this.driver ??= openCgroupDriver();
    return this.driver;
  }

  /** A container whose state file is unreadable: only --force removes it, and only its directory. */
  private deleteUnreadable(id: string, force: boolean): { id: string } {
    if (!force) {
      throw new ValidationError("force", `container ${id} has an unreadable state file, so its processes and cgroup are unknown`, "--force removes its state directory and nothing else");
    }
    removeContainerDir(id);
    this.unreadable.delete(id);
    this.log(`container ${id}: removed the state directory of an unreadable container (--force)`);
    return { id };
  }

  // ---- exits and restarts -------------------------------------------------------------------

  private onExit(rec: ContainerRecord, exit: ContainerExit, note?: string): void {
    this.idleSince = Date.now();
    try {
      rec.afterExit(exit, note, () => this.restart(rec));
    } catch (err) {
      this.report(err, `record the exit of container ${rec.id}`);
    }
  }

  private async restart(rec: ContainerRecord): Promise<void> {
    // Deleted meanwhile: delete dropped the restart and answered the waiters.
    if (this.containers.get(rec.id) !== rec) return;
    if (rec.stoppedByUser || rec.state.status !== "stopped") {
      rec.cancelRestart();
      rec.settleWaiters();
      return;
    }
    rec.state.restartCount++;
    try {
      await this.launch.prepare(rec, (exit) => this.onExit(rec, exit, INIT_EXIT_NOTE));
      await this.launch.start(rec, (exit) => this.onExit(rec, exit));
    } catch (err) {
      // A failed restart counts as a failed run: the policy decides again, with a longer back-off.
      closeStdio(rec.stdioFds);
      rec.afterFailedRestart(`restart failed: ${(err as Error).message}`, () => this.restart(rec));
    }
  }

  // ---- adoption, ticks, idle exit -----------------------------------------------------------

  private adopter(): Adopter {
    return {
      cgroups: () => this.cgroups(),
      newRecord: (state) => this.newRecord(state, true),
      keep: (rec) => this.containers.set(rec.id, rec),
      quarantine: (id, error) => this.unreadable.set(id, error),
      exited: (rec, note) => this.onExit(rec, { code: null, signal: null }, note),
      rearm: (rec) => rec.armRestart(() => this.restart(rec)),
      report: (err, context) => this.report(err, context),
      log: this.log,
    };
  }

  private tick(): void {
    for (const rec of this.containers.values()) {
      if (rec.state.status !== "running") continue;
      // Adopted containers are not our children: their exit is only seen by polling.
      if (rec.adopted && !isSameProcess(rec.state.pid, rec.state.pidStartTime)) {
        this.onExit(rec, { code: null, signal: null }, `${UNKNOWN_EXIT_NOTE}: it was adopted from an earlier supervisor, so it is not this one's child`);
        continue;
      }
      try {
        rotateIfNeeded(rec.state.logPath, rec.state.logMaxBytes, rec.state.logFiles);
      } catch (err) {
        this.report(err, `container ${rec.id}`);
      }
    }
    this.launch.dropIdleInits();
    const live = [...this.containers.values()].some((r) => r.isLive()) || this.creating.size > 0;
    if (live || this.server.connectionCount > 0) {
      this.idleSince = Date.now();
      return;
    }
    if (Date.now() - this.idleSince >= this.idleExitMs) void this.shutdown().then(() => process.exit(0));
  }

  private report(err: unknown, context: string): void {
    this.log(withContext(err, context).message);
  }
}

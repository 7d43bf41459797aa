// One container as the supervisor tracks it, and the state machine of its status:
//   creating -> created -> running -> stopped, and stopped -> (restart pending) -> created -> running.
// Every transition changes the state and persists it in one atomic write (through the hooks), so
// what is on disk is what a later supervisor adopts. The record starts no process and sends no
// signal: exits, restart decisions and waiters can be driven without a container.
import type { ContainerExit, LaunchedContainer, PreparedContainer } from "../launcher";
import { formatRestartPolicy, parseRestartPolicy, planRestart, shouldRestart, type RestartPolicy } from "../restartPolicy";
import type { WaitResult } from "../socketProtocol";
import type { ContainerState } from "../state";
import { signalExitStatus } from "../../sys/signals";

/** Start of the exit note of every exit whose code the supervisor could not learn (exitCode null). */
export const UNKNOWN_EXIT_NOTE = "exit code unknown";

/** The exit status as a shell reports it (128+signal when killed); null when unknown. */
export function exitCodeOf(exit: ContainerExit): number | null {
  if (exit.code !== null) return exit.code;
  if (exit.signal !== null) return signalExitStatus(exit.signal);
  return null;
}

/** What the record needs from its owner. */
export interface RecordHooks {
  /** Writes the state atomically; when it throws, the record undoes the change it was saving where it can. */
  persist(state: ContainerState): void;
  /** Where a failure nobody waits for (a restart's) is reported. */
  report(err: unknown, context: string): void;
}

/** Settings `update` changes in place; absent ones keep their value. */
export interface SettingsChange {
  restartPolicy?: RestartPolicy;
  stopSignal?: string;
  stopTimeout?: number;
}

export class ContainerRecord {
  prepared?: PreparedContainer;
  launched?: LaunchedContainer;
  /** fds the next start hands to the init (closed once it copied them). */
  stdioFds: number[] = [];
  /** Stopped, killed with a terminating signal or deleted by a client: no restart follows. */
  stoppedByUser = false;
  /** Back-off step of the next restart, unless the run that ends resets it. */
  private nextAttempt: number;
  private restartTimer?: NodeJS.Timeout;
  private readonly waiters: Array<(r: WaitResult) => void> = [];
  private readonly exitWaiters: Array<() => void> = [];
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * @param adopted left by an earlier supervisor: not this one's child, so its exit is only seen by
   *   polling and its exit code is unknown.
   */
  constructor(
    readonly state: ContainerState,
    private readonly hooks: RecordHooks,
    public adopted = false,
  ) {
    this.nextAttempt = state.pendingRestart !== undefined ? state.pendingRestart.attempt + 1 : 0;
  }

  get id(): string {
    return this.state.id;
  }

  save(): void {
    this.hooks.persist(this.state);
  }

  /** Whether the supervisor must stay for it: it has a process, or will have one once a restart is due. */
  isLive(): boolean {
    const s = this.state.status;
    return s === "creating" || s === "created" || s === "running" || this.state.pendingRestart !== undefined;
  }

  /** Runs fn after every earlier operation on this container (and its restarts). */
  serial<T>(fn: () => Promise<T> | T): Promise<T> {
    const next = this.queue.then(fn);
    // The caller gets the failure through `next`; the queue only keeps the order.
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** A waiting init is in place. A restart that was pending is now under way. */
  toCreated(prepared: PreparedContainer, pidStartTime: number): void {
    const s = this.state;
    this.prepared = prepared;
    this.adopted = false;
    s.status = "created";
    s.pid = prepared.pid;
    s.pidStartTime = pidStartTime;
    delete s.pendingRestart;
    setWarnings(s, prepared.warnings);
    this.save();
  }

  /** The program was exec'd: the last run's exit facts are cleared. */
  toRunning(launched: LaunchedContainer): void {
    const s = this.state;
    this.prepared = undefined;
    this.launched = launched;
    this.stoppedByUser = false;
    s.status = "running";
    s.started = now();
    delete s.finished;
    s.exitCode = null;
    s.signal = null;
    delete s.exitNote;
    delete s.pendingRestart;
    setWarnings(s, launched.warnings);
    this.save();
  }

  /** Stopped with no restart decision (a failed start, an orphaned created init). */
  toStopped(exit: ContainerExit, note?: string): void {
    this.applyStopped(exit, note);
    this.save();
    this.wakeExitWaiters();
  }

  /**
   * The container's process exited: it is stopped and, when it was running and its policy wants it
   * back, a restart is armed: stored typed in the state (in the same write) and timed here.
   * `restart` runs when it is due, queued behind other operations. Returns whether one was armed.
   */
  afterExit(exit: ContainerExit, note: string | undefined, restart: () => Promise<void>): boolean {
    const wasRunning = this.state.status === "running";
    const ranMs = this.state.started !== undefined ? Date.now() - Date.parse(this.state.started) : 0;
    return this.stopAndDecide(exit, note, wasRunning, ranMs, restart);
  }

  /** A restart that could not be made counts as a failed run of no length: the policy decides again. */
  afterFailedRestart(note: string, restart: () => Promise<void>): boolean {
    return this.stopAndDecide({ code: null, signal: null }, note, true, 0, restart);
  }

  private stopAndDecide(exit: ContainerExit, note: string | undefined, wasRunning: boolean, ranMs: number, restart: () => Promise<void>): boolean {
    const s = this.state;
    this.applyStopped(exit, note ?? (exitCodeOf(exit) === null ? UNKNOWN_EXIT_NOTE : undefined));
    const pending = wasRunning
      ? planRestart(parseRestartPolicy(s.restartPolicy), { exitCode: s.exitCode, restartCount: s.restartCount, stoppedByUser: this.stoppedByUser, ranMs, nextAttempt: this.nextAttempt }, new Date())
      : undefined;
    if (pending !== undefined) s.pendingRestart = pending;
    this.save();
    this.wakeExitWaiters();
    if (pending === undefined) {
      this.settleWaiters();
      return false;
    }
    this.nextAttempt = pending.attempt + 1;
    this.armRestart(restart);
    return true;
  }

  /** Times the restart the state holds: at its due time, or at once if that has passed (adoption). */
  armRestart(restart: () => Promise<void>): void {
    const pending = this.state.pendingRestart;
    if (pending === undefined) return;
    this.dropTimer();
    const delay = Math.max(0, Date.parse(pending.at) - Date.now());
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.serial(restart).catch((err: unknown) => this.hooks.report(err, `restart container ${this.id}`));
    }, delay);
  }

  /** Drops a pending restart for good (stop, delete, a policy that no longer wants it): saved first. */
  cancelRestart(): void {
    const pending = this.state.pendingRestart;
    if (pending !== undefined) {
      delete this.state.pendingRestart;
      try {
        this.save();
      } catch (err) {
        this.state.pendingRestart = pending;
        throw err;
      }
    }
    this.dropTimer();
  }

  /** The container is being deleted: no restart, and nothing saved (its state file goes with it). */
  discardRestart(): void {
    this.dropTimer();
    delete this.state.pendingRestart;
  }

  /** Stops the timer only (the supervisor exits): the state keeps the restart for the next supervisor. */
  dropTimer(): void {
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }

  /**
   * Changes restart policy and stop settings without touching the process: the next exit or stop
   * reads them from the state. A pending restart the new policy would not make is cancelled in the
   * same write; if the write fails nothing changes (memory and disk must agree).
   */
  changeSettings(c: SettingsChange): void {
    const s = this.state;
    const before = { restartPolicy: s.restartPolicy, stopSignal: s.stopSignal, stopTimeout: s.stopTimeout, pendingRestart: s.pendingRestart };
    if (c.restartPolicy !== undefined) s.restartPolicy = formatRestartPolicy(c.restartPolicy);
    if (c.stopSignal !== undefined) s.stopSignal = c.stopSignal;
    if (c.stopTimeout !== undefined) s.stopTimeout = c.stopTimeout;
    const cancel = c.restartPolicy !== undefined && s.pendingRestart !== undefined && !shouldRestart(c.restartPolicy, s.exitCode, s.restartCount, this.stoppedByUser);
    if (cancel) delete s.pendingRestart;
    try {
      this.save();
    } catch (err) {
      Object.assign(s, before);
      if (before.pendingRestart === undefined) delete s.pendingRestart;
      throw err;
    }
    if (cancel) {
      this.dropTimer();
      this.settleWaiters();
    }
  }

  /** Answers every wait() once the container is stopped for good (no restart pending). */
  settleWaiters(): void {
    if (this.state.pendingRestart !== undefined || this.state.status !== "stopped") return;
    const r: WaitResult = { exitCode: this.state.exitCode, signal: this.state.signal };
    if (this.state.exitNote !== undefined) r.exitNote = this.state.exitNote;
    for (const w of this.waiters.splice(0)) w(r);
  }

  /** Resolves when the container has stopped for good. */
  wait(): Promise<WaitResult> {
    return new Promise((res) => {
      this.waiters.push(res);
      this.settleWaiters();
    });
  }

  /** Resolves true when the current process exits, false after timeoutMs. */
  waitExit(timeoutMs: number): Promise<boolean> {
    if (this.state.status !== "running" && this.state.status !== "created") return Promise.resolve(true);
    return new Promise((res) => {
      const timer = setTimeout(() => res(false), timeoutMs);
      this.exitWaiters.push(() => {
        clearTimeout(timer);
        res(true);
      });
    });
  }

  private applyStopped(exit: ContainerExit, note: string | undefined): void {
    const s = this.state;
    this.launched = undefined;
    this.prepared = undefined;
    s.status = "stopped";
    s.finished = now();
    s.exitCode = exitCodeOf(exit);
    s.signal = exit.signal;
    if (note !== undefined) s.exitNote = note;
    else delete s.exitNote;
    delete s.pendingRestart;
  }

  private wakeExitWaiters(): void {
    for (const w of this.exitWaiters.splice(0)) w();
  }
}

function now(): string {
  return new Date().toISOString();
}

/** Records the latest run's launcher warnings (a restart replaces the earlier run's). */
function setWarnings(state: ContainerState, warnings: readonly string[]): void {
  if (warnings.length > 0) state.warnings = [...warnings];
  else delete state.warnings;
}

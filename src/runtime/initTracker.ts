// Follows one init through its life from what its spawn worker reports (spawnWorker.ts and
// execWorker.ts, through initRelay.ts): spawned, "ready", "prepared", warnings, "exec", an "error",
// the end of its socket and its exit. The launcher and the executor keep one per init and await
// its promises; the rules for what each event settles live only here.
import { HostformError, errorFromWire, type WireError } from "../sys/errors";
import { deferred } from "./deferred";
import { adoptChild, type AdoptedChild } from "../sys/adoptedChild";
import { errorOfFailure } from "./initFailure";
import type { InitFailure, InitMessage } from "./initProtocol";

/** How a container (or exec'd process) dies: exit code, or the signal that killed it. */
export interface ContainerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** What the worker reports about one init (the worker events without their id), and its loss. */
export type InitEvent =
  | { op: "spawned"; pid: number; adopted?: true }
  | { op: "spawnFailed"; message: string; error?: WireError }
  | { op: "message"; message: InitMessage }
  | { op: "eof" }
  | { op: "exit"; code: number | null; signal: NodeJS.Signals | null }
  /** The worker relaying this init's events died: nothing more will be heard of it. */
  | { op: "lost"; error: unknown };

/**
 * spawning → loading (spawned) → ready → prepared (container inits) → exec ("exec" said) →
 * running (its socket closed on exec); "failed" once it reported an error; "exited" at the end,
 * also when the spawn failed or the worker was lost.
 */
export type InitPhase = "spawning" | "loading" | "ready" | "prepared" | "exec" | "running" | "failed" | "exited";

export interface InitTrackerOptions {
  /** How messages name the init: "container init", "exec init". */
  name: string;
  /** Context of a spawn failure: "spawn container init". */
  spawnContext: string;
  /** Context added to the init's own failures (see errorOfFailure). */
  failureContext?: string;
}

export class InitTracker {
  /** What the init did differently from the spec without failing. */
  readonly warnings: string[] = [];
  private pidValue = 0;
  private phaseValue: InitPhase = "spawning";
  private failureValue?: InitFailure;
  private error?: HostformError;
  private readonly spawnedD = deferred<number>();
  private readonly readyD = deferred<void>();
  private readonly preparedD = deferred<void>();
  private readonly startedD = deferred<void>();
  private readonly exitedD = deferred<ContainerExit>();
  /** The init's host pid; rejects when it could not be spawned. */
  readonly spawned = this.spawnedD.promise;
  /** Settles when the init has loaded and waits for a request. */
  readonly ready = this.readyD.promise;
  /** Settles when the init says "prepared", or fails before. */
  readonly prepared = this.preparedD.promise;
  /** Settles when the init has exec'd the program ("exec", then EOF), or fails before. */
  readonly started = this.startedD.promise;
  /** Settles when the init (or the program it became) exits; {null, null} when that cannot be known. */
  readonly exited = this.exitedD.promise;

  /** Set for an init nsspawn made (one with a user namespace): this process reaps and signals it. */
  adoptedChild?: AdoptedChild;

  /** Called when the init waits for the launcher's runtime hooks (PrepareRequest.runtimeHooks). */
  onRuntimeHooks?: () => void;

  constructor(private readonly options: InitTrackerOptions) {}

  /** Host pid of the init, 0 until spawned. */
  get pid(): number {
    return this.pidValue;
  }

  get phase(): InitPhase {
    return this.phaseValue;
  }

  /** The init's "error" report, once it sent one. */
  get failure(): InitFailure | undefined {
    return this.failureValue;
  }

  handle(ev: InitEvent): void {
    if (this.phaseValue === "exited") return;
    switch (ev.op) {
      case "spawned":
        this.pidValue = ev.pid;
        this.phaseValue = "loading";
        if (ev.adopted === true) {
          // nsspawn cloned it as this process's child behind libuv's back: its exit is heard here.
          const child = adoptChild(ev.pid);
          this.adoptedChild = child;
          void child.exited.then((exit) => this.handle({ op: "exit", code: exit.code, signal: exit.signal }));
        }
        this.spawnedD.resolve(ev.pid);
        break;
      case "spawnFailed":
        this.end(ev.error !== undefined ? errorFromWire(ev.error).withContext(this.options.spawnContext) : new HostformError(`${this.options.spawnContext}: ${ev.message}`));
        break;
      case "message":
        this.onMessage(ev.message);
        break;
      case "eof":
        // The init's socket is close-on-exec: EOF right after "exec" means execve succeeded.
        if (this.phase === "exec") {
          this.phaseValue = "running";
          this.startedD.resolve();
        }
        break;
      case "exit":
        this.onExit(ev.code, ev.signal);
        break;
      case "lost":
        this.end(ev.error);
        break;
    }
  }

  private onMessage(m: InitMessage): void {
    switch (m.kind) {
      case "ready":
        this.phaseValue = "ready";
        this.readyD.resolve();
        break;
      case "prepared":
        this.phaseValue = "prepared";
        this.preparedD.resolve();
        break;
      case "runtimeHooks":
        this.onRuntimeHooks?.();
        break;
      case "warning":
        this.warnings.push(m.message);
        break;
      case "exec":
        this.phaseValue = "exec";
        break;
      case "error": {
        this.phaseValue = "failed";
        this.failureValue = m;
        const err = errorOfFailure(m, this.options.failureContext);
        this.error = err;
        this.preparedD.reject(err);
        this.startedD.reject(err);
        break;
      }
    }
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    const how = `(code ${code}, signal ${signal})`;
    const { name } = this.options;
    this.readyD.reject(new HostformError(`${name} exited before it was ready ${how}`));
    this.preparedD.reject(this.error ?? new HostformError(`${name} died before it was prepared ${how}`));
    if (this.error !== undefined) this.startedD.reject(this.error);
    else if (this.phase === "exec" || this.phase === "running") this.startedD.resolve();
    else this.startedD.reject(new HostformError(`${name} died before exec ${how}`));
    this.phaseValue = "exited";
    this.exitedD.resolve({ code, signal });
  }

  /** No process (left) to hear from: everything pending fails with `err`. */
  private end(err: unknown): void {
    this.spawnedD.reject(err);
    this.readyD.reject(err);
    this.preparedD.reject(err);
    this.startedD.reject(err);
    this.phaseValue = "exited";
    this.exitedD.resolve({ code: null, signal: null });
  }
}

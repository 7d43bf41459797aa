import { randomUUID } from "node:crypto";
import { HostformError } from "../sys/errors";
import { classifyDrift } from "./driftCheck";
import type { EngineEvent, EventSink, OperationKind, PropertyChange } from "./events";
import { Limiter } from "./limiter";
import { startMonitor, type Diagnostic, type Monitor, type Registration, type RegistrationResult } from "./monitor";
import { applyIgnoreChanges, deleteDependencies, dependentReplacements, planStep, type StepOp } from "./planner";
import { runProgram, EXIT_REPORTED, type ProgramRun } from "./programRun";
import { configEnvironment, type Project, type StackConfig } from "./project";
import { ProviderError, startProviderHost, type ProviderHost } from "./providerHost";
import { changedKeys, isSecret, markSecrets, SECRET_SIG, SIG_KEY, UNKNOWN, unwrapForProvider, type PropertyMap } from "./propertyValues";
import { SecretRedactor } from "./secretRedaction";
import { SnapshotJournal } from "./snapshotJournal";
import { acquireStackLock, type StackLock } from "./stackLock";
import { emptySnapshot, requiredUrns, type ResourceState } from "./state";
import { readCheckpoint } from "./stateFile";
import { makeUrn, nameOfUrn, NODEJS_PROVIDER_TYPE, STACK_TYPE } from "./urn";

/** Everything one engine run needs. */
export interface DeploymentOptions {
  project: Project;
  stack: string;
  config: StackConfig;
  /** Bound on concurrent provider operations (and cmd/run's --parallel). */
  parallel: number;
  /** --target: only these URNs get steps. */
  targets: string[];
  /** --replace: these URNs are replaced whatever the diff says. */
  replaces: string[];
  /** --refresh: read every resource before planning. */
  refresh: boolean;
  events: EventSink;
  /** Shown in the stack lock ("hostform up"). */
  command: string;
  stateDir?: string;
  programTimeoutMs?: number;
  providerCallTimeoutMs?: number;
}

/** How a run ended. */
export interface DeploymentResult {
  ok: boolean;
  counts: Partial<Record<StepOp | "refresh" | "drifted", number>>;
  /** Any step other than `same` (for --expect-no-changes). */
  changed: boolean;
  /** drift/refresh: some resource differs from its state. */
  drifted: boolean;
}

const DEFAULT_PROGRAM_TIMEOUT_MS = 30 * 60_000;
const DEFAULT_CALL_TIMEOUT_MS = 10 * 60_000;

/** `up`: runs the program and makes the host match it. */
export function runUpdate(o: DeploymentOptions): Promise<DeploymentResult> {
  return update(o, false);
}

/** `preview`: runs the program and reports the steps `up` would take, changing nothing. */
export function runPreview(o: DeploymentOptions): Promise<DeploymentResult> {
  return update(o, true);
}

/** `refresh`: reads every resource once and writes what it found into the state. */
export function runRefresh(o: DeploymentOptions): Promise<DeploymentResult> {
  return refresh(o, "refresh");
}

/** `drift`: reads every resource once and reports how it differs from the state, writing nothing. */
export function runDrift(o: DeploymentOptions): Promise<DeploymentResult> {
  return refresh(o, "drift");
}

function update(o: DeploymentOptions, dryRun: boolean): Promise<DeploymentResult> {
  return withRun(o, dryRun ? "preview" : "update", !dryRun, async (run) => {
    await run.recoverPending();
    if (o.refresh) await run.refreshAll(dryRun ? "drift" : "refresh");
    if (run.failed) return;
    await run.runProgram();
    if (!run.failed) await run.deleteUnregistered();
    run.dropUnusedDefaultProvider();
  });
}

function refresh(o: DeploymentOptions, mode: "refresh" | "drift"): Promise<DeploymentResult> {
  return withRun(o, mode, mode === "refresh", async (run) => {
    if (mode === "refresh") await run.recoverPending();
    await run.refreshAll(mode);
  });
}

/** `destroy`: deletes every resource in reverse dependency order and empties the state. */
export function runDestroy(o: DeploymentOptions): Promise<DeploymentResult> {
  return withRun(o, "destroy", true, async (run) => {
    await run.recoverPending();
    await run.deleteAll();
  });
}

async function withRun(given: DeploymentOptions, operation: OperationKind, writes: boolean, body: (run: Run) => Promise<void>): Promise<DeploymentResult> {
  const start = Date.now();
  // Every event leaves the engine through the redactor: no display path or --json line shows a secret.
  const redactor = new SecretRedactor();
  for (const k of given.config.secretKeys) redactor.learn({ [SIG_KEY]: SECRET_SIG, value: given.config.values[k] });
  const o: DeploymentOptions = { ...given, events: (e) => given.events(redactor.event(e)) };
  const dryRun = !writes;
  o.events({ type: "start", operation, project: o.project.name, stack: o.stack, dryRun });
  let lock: StackLock | undefined;
  if (writes) lock = acquireStackLock(o.project.name, o.stack, o.command, (m) => o.events({ type: "diagnostic", severity: "warning", message: m }), o.stateDir);
  const run = new Run(o, operation, dryRun, redactor);
  try {
    await body(run);
  } catch (err) {
    run.fail(err instanceof HostformError ? err.message : (err as Error).stack ?? String(err));
  } finally {
    await run.close();
    try {
      await run.journal.flush();
    } catch (err) {
      run.fail(`the state could not be written: ${err instanceof HostformError ? err.message : String(err)}`);
    }
    if (writes) o.events({ type: "diagnostic", severity: "debug", message: `state written ${run.journal.writes} times` });
    lock?.release();
  }
  const stack = run.journal.resources.find((r) => r.type === STACK_TYPE && r.delete !== true);
  if (stack !== undefined && Object.keys(stack.outputs).length > 0 && (operation === "update" || operation === "preview")) o.events({ type: "outputs", outputs: stack.outputs });
  o.events({ type: "summary", operation, ok: !run.failed, dryRun, counts: run.counts, durationMs: Date.now() - start });
  return { ok: !run.failed, counts: run.counts, changed: run.changed, drifted: run.drifted };
}

/** State of one engine run. */
class Run {
  readonly journal: SnapshotJournal;
  readonly counts: DeploymentResult["counts"] = {};
  failed = false;
  changed = false;
  drifted = false;
  private readonly limiter: Limiter;
  private providerPromise: Promise<ProviderHost> | undefined;
  private monitor: Monitor | undefined;
  private program: ProgramRun | undefined;
  private readonly registered = new Set<string>();
  private readonly inflight = new Set<Promise<unknown>>();
  /** Dependents deleted by a delete-before-replace cascade; their later create shows as a replace. */
  private readonly cascaded = new Set<string>();
  /** Resources deleted as the first half of a delete-before-replace (counted as replaces). */
  private readonly deletedForReplacement = new Set<string>();

  constructor(
    private readonly o: DeploymentOptions,
    private readonly operation: OperationKind,
    private readonly dryRun: boolean,
    private readonly redactor: SecretRedactor,
  ) {
    const old = readCheckpoint(o.project.name, o.stack, o.stateDir) ?? emptySnapshot();
    for (const r of old.resources) {
      redactor.learn(r.inputs);
      redactor.learn(r.outputs);
    }
    this.journal = new SnapshotJournal(old, dryRun ? undefined : { project: o.project.name, stack: o.stack, ...(o.stateDir !== undefined ? { dir: o.stateDir } : {}) });
    this.limiter = new Limiter(Math.max(1, o.parallel));
  }

  private emit(e: EngineEvent): void {
    this.o.events(e);
  }

  private diag(d: Diagnostic): void {
    this.emit({ type: "diagnostic", ...d });
  }

  fail(message: string, urn?: string): void {
    this.failed = true;
    this.diag(urn !== undefined ? { severity: "error", message, urn } : { severity: "error", message });
  }

  private count(op: StepOp | "refresh" | "drifted"): void {
    this.counts[op] = (this.counts[op] ?? 0) + 1;
    if (op !== "same" && op !== "refresh") this.changed = true;
  }

  private provider(): Promise<ProviderHost> {
    this.providerPromise ??= startProviderHost({
      project: this.o.project,
      engineAddress: this.monitor?.engineAddress ?? "127.0.0.1:0",
      config: this.o.config.values,
      onOutput: (line, stream) => this.diag({ severity: stream === "stderr" ? "debug" : "info", message: line }),
      callTimeoutMs: this.o.providerCallTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
    });
    return this.providerPromise;
  }

  async close(): Promise<void> {
    this.program?.stop();
    if (this.program !== undefined) await this.program.done.catch(() => undefined);
    await Promise.allSettled([...this.inflight]);
    if (this.providerPromise !== undefined) (await this.providerPromise.catch(() => undefined))?.close();
    await this.monitor?.close();
  }

  /** Pending operations from an interrupted run: warn, re-read what can be read, and clear them. */
  async recoverPending(): Promise<void> {
    const pending = [...this.journal.pending];
    if (pending.length === 0) return;
    for (const op of pending) {
      const r = op.resource;
      if (op.type === "creating") {
        this.diag({ severity: "warning", urn: r.urn, message: `an earlier run was interrupted while creating this resource; it may exist without being in the state, and will be created again (its provider must adopt what it finds)` });
        continue;
      }
      this.diag({ severity: "warning", urn: r.urn, message: `an earlier run was interrupted while ${op.type} this resource; reading its live state` });
      const entry = this.journal.live(r.urn);
      if (entry !== undefined && entry.custom && entry.id) await this.refreshOne(entry, "refresh");
    }
    if (!this.dryRun) await this.journal.clearPending();
  }

  /** Calls Read once for every custom resource, concurrently within --parallel. */
  async refreshAll(mode: "refresh" | "drift"): Promise<void> {
    const targets = this.journal.resources.filter((r) => r.custom && r.id && r.type !== NODEJS_PROVIDER_TYPE && r.delete !== true && this.isTargeted(r.urn));
    await Promise.all(targets.map((r) => this.limiter.run(() => this.refreshOne(r, mode))));
  }

  /**
   * Reads one resource and reports it as Pulumi's refresh does: Read gives the live candidate, and
   * the provider's Diff of it against the declared inputs decides drift (outputs that change on
   * their own are refreshed, not drift). refresh writes the candidate; drift only reports.
   */
  private async refreshOne(r: ResourceState, mode: "refresh" | "drift"): Promise<void> {
    const started = Date.now();
    this.emit({ type: "step-start", op: "refresh", urn: r.urn, dryRun: mode === "drift" });
    try {
      const provider = await this.provider();
      const oldInputsPlain = unwrapForProvider(r.inputs).plain;
      const res = await provider.read(r.urn, r.id as string, unwrapForProvider(r.outputs).plain, oldInputsPlain);
      if (res.id === "") {
        this.drifted = true;
        this.count("drifted");
        this.emit({ type: "drift", urn: r.urn, status: "missing", changes: [] });
        if (mode === "refresh" && !this.dryRun) await this.journal.remove(r);
        return;
      }
      const outputs = markSecrets(res.outputs, [...secretKeysOf(r.outputs), ...(r.additionalSecretOutputs ?? [])]);
      const liveInputs = res.inputs !== undefined ? markSecrets(res.inputs, secretKeysOf(r.inputs)) : undefined;
      this.redactor.learn(outputs);
      // As Pulumi: Diff(olds = the candidate's outputs and inputs, news = the declared inputs).
      const diff = await provider.diff(r.urn, res.id, res.outputs, oldInputsPlain, res.inputs ?? oldInputsPlain, r.ignoreChanges ?? []);
      const finding = classifyDrift(r, liveInputs !== undefined ? { outputs, inputs: liveInputs } : { outputs }, diff);
      if (finding.status !== "in-sync") {
        this.drifted = true;
        this.count("drifted");
      }
      const event: EngineEvent = { type: "drift", urn: r.urn, status: finding.status, changes: finding.changes };
      if (finding.outputsChanged.length > 0) event.outputsChanged = finding.outputsChanged;
      this.emit(event);
      this.count("refresh");
      const next: ResourceState = { ...r, id: res.id, outputs };
      if (liveInputs !== undefined) next.inputs = liveInputs;
      if (mode === "refresh" && !this.dryRun) await this.journal.replace(r, next);
      else if (mode === "drift" && this.operation === "preview") await this.journal.replace(r, next);
      this.emit({ type: "step-done", op: "refresh", urn: r.urn, dryRun: mode === "drift", durationMs: Date.now() - started, changes: finding.changes });
    } catch (err) {
      this.stepFailed("refresh", r.urn, err, started);
    }
  }

  private stepFailed(op: StepOp | "refresh", urn: string, err: unknown, started: number): void {
    const message = err instanceof ProviderError ? err.message : err instanceof HostformError ? err.message : (err as Error).stack ?? String(err);
    this.emit({ type: "step-failed", op, urn, message, durationMs: Date.now() - started });
    this.fail(message, urn);
  }

  private isTargeted(urn: string): boolean {
    return this.o.targets.length === 0 || this.o.targets.some((t) => t === urn || t === nameOfUrn(urn));
  }

  /** Starts the monitor, runs the program to completion (or until a step fails) and waits for its steps. */
  async runProgram(): Promise<void> {
    const o = this.o;
    this.monitor = await startMonitor(o.stack, o.project.name, {
      registerResource: (reg) => {
        const p = this.register(reg);
        this.inflight.add(p);
        void p.then(
          () => this.inflight.delete(p),
          () => this.inflight.delete(p),
        );
        return p;
      },
      registerResourceOutputs: (urn, outputs) => {
        this.redactor.learn(outputs);
        const r = this.journal.live(urn);
        if (r !== undefined) void this.journal.replace(r, { ...r, outputs });
      },
      log: (d) => {
        if (d.severity === "error") this.failed = true;
        this.diag(d);
      },
    });
    // Starting the provider host while the program loads hides most of its ~0.5 s start-up.
    void this.provider().catch(() => undefined);
    this.program = runProgram({
      project: o.project,
      stack: o.stack,
      monitorAddress: this.monitor.monitorAddress,
      engineAddress: this.monitor.engineAddress,
      dryRun: this.dryRun,
      parallel: o.parallel,
      env: configEnvironment(o.config),
      onOutput: (line) => this.diag({ severity: "info", message: line }),
      timeoutMs: o.programTimeoutMs ?? DEFAULT_PROGRAM_TIMEOUT_MS,
    });
    const exit = await this.program.done;
    this.program = undefined;
    await Promise.allSettled([...this.inflight]);
    if (exit.timedOut) this.fail(`the program did not finish within ${o.programTimeoutMs ?? DEFAULT_PROGRAM_TIMEOUT_MS} ms and was stopped`);
    else if (exit.code === EXIT_REPORTED) this.failed = true;
    else if (exit.code !== 0 && !this.failed) this.fail(`the program exited with ${exit.signal ?? `code ${exit.code}`}`);
  }

  private async register(reg: Registration): Promise<RegistrationResult> {
    this.registered.add(reg.urn);
    this.redactor.learn(reg.inputs);
    if (!reg.custom) return this.registerComponent(reg);
    const started = Date.now();
    let op: StepOp = "create";
    try {
      return await this.registerCustom(reg, (o) => {
        op = o;
      });
    } catch (err) {
      this.stepFailed(op, reg.urn, err, started);
      // Tell the program to stop: a gRPC error would make cmd/run report it again and hang.
      this.monitor?.terminate();
      this.program?.stop();
      throw err;
    }
  }

  private registerComponent(reg: Registration): RegistrationResult {
    const old = this.journal.live(reg.urn);
    const next: ResourceState = {
      urn: reg.urn,
      type: reg.type,
      custom: false,
      inputs: reg.inputs,
      outputs: old?.outputs ?? {},
      dependencies: reg.dependencies,
      ...(reg.parent !== "" ? { parent: reg.parent } : {}),
      ...(reg.protect ? { protect: true } : {}),
      created: old?.created ?? new Date().toISOString(),
    };
    if (old === undefined) void this.journal.add(next);
    else void this.journal.replace(old, next);
    const op: StepOp = old === undefined ? "create" : changedKeys(old.inputs, reg.inputs).length > 0 ? "update" : "same";
    this.count(op);
    this.emit({ type: "step-done", op, urn: reg.urn, dryRun: this.dryRun, durationMs: 0, changes: old === undefined ? [] : propertyChanges(old.inputs, reg.inputs) });
    return { id: "", outputs: {} };
  }

  private defaultProviderRef(): string {
    const urn = makeUrn(this.o.stack, this.o.project.name, "", NODEJS_PROVIDER_TYPE, "default");
    let p = this.journal.live(urn);
    if (p === undefined) {
      p = { urn, type: NODEJS_PROVIDER_TYPE, custom: true, id: randomUUID(), inputs: {}, outputs: {}, dependencies: [], created: new Date().toISOString() };
      void this.journal.add(p);
    }
    return `${urn}::${p.id}`;
  }

  /** Drops the default provider entry once no resource refers to it. */
  dropUnusedDefaultProvider(): void {
    if (this.dryRun) return;
    for (const p of this.journal.resources.filter((r) => r.type === NODEJS_PROVIDER_TYPE)) {
      if (!this.journal.resources.some((r) => r.provider !== undefined && r.provider.startsWith(`${p.urn}::`))) void this.journal.remove(p);
    }
  }

  private async registerCustom(reg: Registration, setOp: (op: StepOp) => void): Promise<RegistrationResult> {
    if (reg.provider !== "" && !reg.provider.includes(`::${NODEJS_PROVIDER_TYPE}::`)) {
      throw new HostformError(`explicit provider ${reg.provider} is not supported by the hostform engine (only dynamic resources)`);
    }
    const old = this.journal.live(reg.urn);
    const news = old !== undefined ? applyIgnoreChanges(old.inputs, reg.inputs, reg.ignoreChanges) : reg.inputs;
    const { plain: newsPlain, secretKeys } = unwrapForProvider(news);
    const oldInputsPlain = old !== undefined ? unwrapForProvider(old.inputs).plain : {};
    const provider = await this.provider();
    const check = await provider.check(reg.urn, oldInputsPlain, newsPlain);
    if (check.failures.length > 0) {
      throw new HostformError(`invalid inputs: ${check.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
    }
    const checked = markSecrets(check.inputs, secretKeys);
    this.redactor.learn(checked);
    if (!this.isTargeted(reg.urn)) {
      // Untargeted resources keep their state; the program still needs an answer to go on.
      return old !== undefined ? { id: old.id ?? "", outputs: old.outputs } : { id: "", outputs: checked };
    }
    const diff = old !== undefined ? await provider.diff(reg.urn, old.id ?? "", unwrapForProvider(old.outputs).plain, check.inputs, oldInputsPlain, reg.ignoreChanges) : undefined;
    const plan = planStep({
      old,
      custom: true,
      newInputs: checked,
      diff,
      forceReplace: this.o.replaces.some((t) => t === reg.urn || t === reg.name),
      replaceOnChanges: reg.replaceOnChanges,
      deleteBeforeReplace: reg.deleteBeforeReplace,
    });
    const op: StepOp = plan.op === "create" && this.cascaded.has(reg.urn) ? "replace" : plan.op;
    setOp(op);
    const providerRef = reg.provider !== "" ? reg.provider : this.defaultProviderRef();
    const secretOutputs = [...secretKeys, ...reg.additionalSecretOutputs];
    const base = (id: string | undefined, outputs: PropertyMap): ResourceState => {
      const s: ResourceState = {
        urn: reg.urn,
        type: reg.type,
        custom: true,
        inputs: checked,
        outputs,
        dependencies: reg.dependencies,
        provider: providerRef,
        created: old?.created ?? new Date().toISOString(),
      };
      if (id !== undefined) s.id = id;
      if (reg.parent !== "") s.parent = reg.parent;
      if (reg.protect) s.protect = true;
      if (reg.retainOnDelete) s.retainOnDelete = true;
      if (Object.keys(reg.propertyDependencies).length > 0) s.propertyDependencies = reg.propertyDependencies;
      if (reg.additionalSecretOutputs.length > 0) s.additionalSecretOutputs = reg.additionalSecretOutputs;
      if (reg.ignoreChanges.length > 0) s.ignoreChanges = reg.ignoreChanges;
      if (reg.replaceOnChanges.length > 0) s.replaceOnChanges = reg.replaceOnChanges;
      return s;
    };
    let changes = old !== undefined ? propertyChanges(old.inputs, checked) : propertyChanges({}, checked);
    // Unchanged inputs but a diff anyway (drift found by --refresh): show it against the live outputs.
    if (old !== undefined && changes.length === 0 && plan.op !== "same") changes = propertyChanges(pick(old.outputs, Object.keys(checked)), checked);
    const started = Date.now();
    const done = (): void => {
      this.count(op);
      const e: EngineEvent = { type: "step-done", op, urn: reg.urn, dryRun: this.dryRun, durationMs: Date.now() - started, changes };
      if (plan.op === "replace") {
        e.replaceKeys = plan.replaceKeys;
        e.deleteBeforeReplace = plan.deleteBeforeReplace;
      }
      this.emit(e);
    };

    if (plan.op === "same") {
      const s = base(old!.id, old!.outputs);
      if (old!.modified !== undefined) s.modified = old!.modified;
      if (!this.dryRun) void this.journal.replace(old!, s);
      done();
      return { id: old!.id ?? "", outputs: old!.outputs };
    }
    if (plan.op === "replace" && old!.protect === true) {
      throw new HostformError(`cannot replace ${reg.urn}: it is protected (set protect: false first)`);
    }
    if (this.dryRun) {
      this.emit({ type: "step-start", op, urn: reg.urn, dryRun: true });
      done();
      return { id: plan.op === "update" ? old!.id ?? "" : "", outputs: checked };
    }
    return this.limiter.run(async () => {
      this.emit({ type: "step-start", op, urn: reg.urn, dryRun: false });
      if (plan.op === "update") {
        const token = await this.journal.begin("updating", old!);
        let outs: PropertyMap;
        try {
          outs = await provider.update(reg.urn, old!.id ?? "", unwrapForProvider(old!.outputs).plain, check.inputs, oldInputsPlain);
        } catch (err) {
          await this.journal.end(token);
          throw err;
        }
        const s = base(old!.id, markSecrets(outs, secretOutputs));
        this.redactor.learn(s.outputs);
        s.modified = new Date().toISOString();
        await this.journal.end(token, (edit) => edit.replace(old!, s));
        done();
        return { id: s.id ?? "", outputs: s.outputs };
      }
      if (plan.op === "replace" && plan.deleteBeforeReplace) await this.deleteForReplacement(old!);
      const pendingState = base(undefined, {});
      const token = await this.journal.begin("creating", pendingState);
      let created: { id: string; outputs: PropertyMap };
      try {
        created = await provider.create(reg.urn, check.inputs);
      } catch (err) {
        await this.journal.end(token);
        throw err;
      }
      const s = base(created.id, markSecrets(created.outputs, secretOutputs));
      this.redactor.learn(s.outputs);
      await this.journal.end(token, (edit) => {
        if (plan.op === "replace" && !plan.deleteBeforeReplace) {
          // Create-before-delete: the old copy stays, marked for deletion at the end of the run.
          edit.replace(old!, { ...old!, delete: true });
        }
        edit.add(s);
      });
      done();
      return { id: s.id ?? "", outputs: s.outputs };
    });
  }

  /**
   * Delete-before-replace: the dependents that must be replaced too go first, then the resource
   * itself. As in Pulumi, a dependent must go only when its provider says so: Diff is asked with
   * every input that depends on a replaced resource set to unknown; a dependent tied only through
   * dependsOn, or whose diff is an update, stays and keeps pointing at the new copy.
   */
  private async deleteForReplacement(old: ResourceState): Promise<void> {
    const provider = await this.provider();
    const doomed = await dependentReplacements(old, this.journal.resources, this.registered, async (r, unknownKeys) => {
      const inputs: PropertyMap = { ...r.inputs };
      for (const k of unknownKeys) inputs[k] = UNKNOWN;
      const diff = await provider.diff(r.urn, r.id ?? "", unwrapForProvider(r.outputs).plain, unwrapForProvider(inputs).plain, unwrapForProvider(r.inputs).plain, r.ignoreChanges ?? []);
      return planStep({ old: r, custom: true, newInputs: inputs, diff, forceReplace: false, replaceOnChanges: r.replaceOnChanges ?? [], deleteBeforeReplace: undefined }).op === "replace";
    });
    for (const r of doomed) {
      if (r !== old) this.cascaded.add(r.urn);
      this.deletedForReplacement.add(r.urn);
    }
    const ok = await this.deleteInOrder(doomed, false);
    if (!ok) throw new HostformError(`could not delete ${old.urn} and its dependents before replacing it`);
  }

  /** Deletes what the program no longer declares, and old copies of replaced resources. */
  async deleteUnregistered(): Promise<void> {
    const doomed = this.journal.resources.filter(
      (r) => (r.delete === true || !this.registered.has(r.urn)) && r.type !== NODEJS_PROVIDER_TYPE && this.isTargeted(r.urn),
    );
    await this.deleteInOrder(doomed, true);
  }

  /** Deletes the whole stack. */
  async deleteAll(): Promise<void> {
    const doomed = this.journal.resources.filter((r) => this.isTargeted(r.urn));
    await this.deleteInOrder(doomed, true);
    if (!this.failed) this.dropUnusedDefaultProvider();
  }

  /**
   * Deletes `doomed` in reverse dependency order, as many at once as --parallel allows. A resource
   * whose dependent failed to go is left alone. Returns false when anything failed.
   */
  private async deleteInOrder(doomed: ResourceState[], usesLimiter: boolean): Promise<boolean> {
    const before = deleteDependencies(doomed.filter((r) => r.type !== NODEJS_PROVIDER_TYPE), requiredUrns);
    const results = new Map<ResourceState, Promise<boolean>>();
    const del = (r: ResourceState): Promise<boolean> => {
      let p = results.get(r);
      if (p === undefined) {
        p = Promise.all((before.get(r) ?? []).map(del)).then(async (deps) => {
          if (deps.some((ok) => !ok)) return false;
          return usesLimiter ? this.limiter.run(() => this.deleteOne(r)) : this.deleteOne(r);
        });
        results.set(r, p);
      }
      return p;
    };
    const all = await Promise.all([...before.keys()].map(del));
    return all.every((ok) => ok);
  }

  private async deleteOne(r: ResourceState): Promise<boolean> {
    const started = Date.now();
    const changes = propertyChanges(r.inputs, {});
    try {
      if (r.protect === true && r.delete !== true) throw new HostformError(`cannot delete ${r.urn}: it is protected (set protect: false first)`);
      this.emit({ type: "step-start", op: "delete", urn: r.urn, dryRun: this.dryRun });
      if (!this.dryRun) {
        if (r.custom && r.retainOnDelete !== true && r.id) {
          const provider = await this.provider();
          const token = await this.journal.begin("deleting", r);
          try {
            await provider.delete(r.urn, r.id, unwrapForProvider(r.outputs).plain, unwrapForProvider(r.inputs).plain);
          } catch (err) {
            await this.journal.end(token);
            throw err;
          }
          await this.journal.end(token, (edit) => edit.remove(r));
        } else {
          if (r.retainOnDelete === true) this.diag({ severity: "info", urn: r.urn, message: "retainOnDelete: removed from the state, left in place on the host" });
          await this.journal.remove(r);
        }
      }
      // The old copy of a replacement is part of the replace step, not a delete of its own.
      const original = r.delete === true || this.deletedForReplacement.has(r.urn);
      if (!original) this.count("delete");
      const e: EngineEvent = { type: "step-done", op: "delete", urn: r.urn, dryRun: this.dryRun, durationMs: Date.now() - started, changes };
      if (original) e.replacedOriginal = true;
      this.emit(e);
      return true;
    } catch (err) {
      this.stepFailed("delete", r.urn, err, started);
      return false;
    }
  }
}

function pick(props: PropertyMap, keys: string[]): PropertyMap {
  const out: PropertyMap = {};
  for (const k of keys) if (k in props) out[k] = props[k];
  return out;
}

function secretKeysOf(props: PropertyMap): string[] {
  return Object.entries(props)
    .filter(([, v]) => isSecret(v))
    .map(([k]) => k);
}

/** Changed top-level properties, old → new (the provider's bookkeeping key left out). */
export function propertyChanges(olds: PropertyMap, news: PropertyMap): PropertyChange[] {
  return changedKeys(olds, news)
    .filter((k) => k !== "__provider")
    .map((key) => ({ key, old: olds[key], new: news[key] }));
}

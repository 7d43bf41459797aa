// The state one engine run shares between its steps: the journal of the stack's state, the counts
// and verdicts it reports, the --parallel limiter, and the processes it started (the program, the
// monitor the program talks to, the provider host), which `close` stops whatever happened.
import { randomUUID } from "node:crypto";
import type { DeploymentOptions, DeploymentResult } from "./deployment";
import { describeError } from "./errorText";
import type { EngineEvent, OperationKind } from "./events";
import { Limiter } from "./limiter";
import type { Diagnostic, Monitor } from "./monitor";
import type { StepOp } from "./planner";
import type { ProgramRun } from "./programRun";
import { startProviderHost, type ProviderHost } from "./providerHost";
import type { SecretRedactor } from "./secretRedaction";
import { containsSecret } from "./propertyValues";
import { SnapshotJournal } from "./snapshotJournal";
import { emptySnapshot } from "./state";
import { readCheckpoint, sealPlaintextSecrets } from "./stateFile";
import { makeUrn, nameOfUrn, NODEJS_PROVIDER_TYPE } from "./urn";

const DEFAULT_CALL_TIMEOUT_MS = 10 * 60_000;

export type CountedOp = StepOp | "refresh" | "drifted";

export class DeploymentRun {
  readonly journal: SnapshotJournal;
  readonly counts: DeploymentResult["counts"] = {};
  failed = false;
  changed = false;
  drifted = false;
  readonly limiter: Limiter;
  /** Set while the program runs (programSession.ts); the provider host reports to its engine address. */
  monitor: Monitor | undefined;
  program: ProgramRun | undefined;
  /** URNs the program registered in this run. */
  readonly registered = new Set<string>();
  /** Registrations still being answered; `close` waits for them before the provider goes. */
  readonly inflight = new Set<Promise<unknown>>();
  /** Dependents deleted by a delete-before-replace cascade; their later create shows as a replace. */
  readonly cascaded = new Set<string>();
  /** Resources deleted as the first half of a delete-before-replace (counted as replaces). */
  readonly deletedForReplacement = new Set<string>();
  private providerPromise: Promise<ProviderHost> | undefined;

  constructor(
    readonly options: DeploymentOptions,
    readonly operation: OperationKind,
    readonly dryRun: boolean,
    readonly redactor: SecretRedactor,
  ) {
    const old = readCheckpoint(options.project.name, options.stack, options.config.secrets, options.stateDir) ?? emptySnapshot();
    // The state is written back with its secrets sealed: without the passphrase the run stops here,
    // before any change, rather than at its first write (an older hostform kept them in plaintext).
    if (!dryRun && old.resources.some((r) => containsSecret(r.inputs) || containsSecret(r.outputs))) {
      options.config.secrets.requireSealing();
      sealPlaintextSecrets(options.project.name, options.stack, options.config.secrets, options.stateDir);
    }
    for (const r of old.resources) {
      redactor.learn(r.inputs);
      redactor.learn(r.outputs);
    }
    const persist = { project: options.project.name, stack: options.stack, secrets: options.config.secrets, ...(options.stateDir !== undefined ? { dir: options.stateDir } : {}) };
    this.journal = new SnapshotJournal(old, dryRun ? undefined : persist);
    this.limiter = new Limiter(Math.max(1, options.parallel));
  }

  /**
   * Called before a step records `props` (and before any provider call): a secret among them needs
   * the stack's passphrase to be written, and a missing one fails the step while nothing is made.
   */
  requireSecretsWritable(props: unknown, additionalSecretOutputs: readonly string[] = []): void {
    if (this.dryRun) return;
    if (additionalSecretOutputs.length > 0 || containsSecret(props)) this.options.config.secrets.requireSealing();
  }

  emit(e: EngineEvent): void {
    this.options.events(e);
  }

  diag(d: Diagnostic): void {
    this.emit({ type: "diagnostic", ...d });
  }

  fail(message: string, urn?: string): void {
    this.failed = true;
    this.diag(urn !== undefined ? { severity: "error", message, urn } : { severity: "error", message });
  }

  count(op: CountedOp): void {
    this.counts[op] = (this.counts[op] ?? 0) + 1;
    if (op !== "same" && op !== "refresh") this.changed = true;
  }

  /** Reports a step that threw, against its resource. */
  stepFailed(op: StepOp | "refresh", urn: string, err: unknown, started: number): void {
    const message = describeError(err);
    this.emit({ type: "step-failed", op, urn, message, durationMs: Date.now() - started });
    this.fail(message, urn);
  }

  isTargeted(urn: string): boolean {
    const targets = this.options.targets;
    return targets.length === 0 || targets.some((t) => t === urn || t === nameOfUrn(urn));
  }

  /** The provider host, started on first use and shared by every step. */
  provider(): Promise<ProviderHost> {
    this.providerPromise ??= startProviderHost({
      project: this.options.project,
      engineAddress: this.monitor?.engineAddress ?? "127.0.0.1:0",
      config: this.options.config.values,
      onOutput: (line, stream) => this.diag(providerDiagnostic(line, stream)),
      callTimeoutMs: this.options.providerCallTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
      ...(this.options.providerStartTimeoutMs !== undefined ? { startTimeoutMs: this.options.providerStartTimeoutMs } : {}),
    });
    return this.providerPromise;
  }

  /** The reference resources without an explicit provider carry; adds the default provider entry on first use. */
  defaultProviderRef(): string {
    const urn = makeUrn(this.options.stack, this.options.project.name, "", NODEJS_PROVIDER_TYPE, "default");
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

  /** Stops the program, lets the steps in flight finish, then stops the provider host and the monitor. */
  async close(): Promise<void> {
    this.program?.stop();
    // A program that could not even start has failed the run already, where it was awaited.
    if (this.program !== undefined) await this.program.done.catch(() => undefined);
    await Promise.allSettled([...this.inflight]);
    // A provider host that failed to start has failed every step that needed it; one that no
    // step needed (it is started early, while the program loads) has nothing left to report.
    if (this.providerPromise !== undefined) (await this.providerPromise.catch(() => undefined))?.close();
    await this.monitor?.close();
  }
}

/**
 * A line a provider printed. A dynamic provider has no warning channel: a stdout line starting
 * "warning: " is its warning (the seccomp and container providers print theirs so), the rest of
 * stdout is information and stderr is debug output.
 */
export function providerDiagnostic(line: string, stream: "stdout" | "stderr"): { severity: "debug" | "info" | "warning"; message: string } {
  if (stream === "stderr") return { severity: "debug", message: line };
  if (line.startsWith("warning: ")) return { severity: "warning", message: line.slice("warning: ".length) };
  return { severity: "info", message: line };
}

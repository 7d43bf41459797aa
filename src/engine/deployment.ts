// The engine's operations (up, preview, refresh, drift, destroy) on typed options. Each is one run:
// take the stack lock when it writes, load the state, do the operation's steps, write the state and
// report through events. The steps live in customStep.ts, refreshSteps.ts and deleteSteps.ts.
import { deleteAll, deleteUnregistered } from "./deleteSteps";
import { DeploymentRun, type CountedOp } from "./deploymentRun";
import { describeError } from "./errorText";
import type { EventSink, OperationKind } from "./events";
import { runProgramSession } from "./programSession";
import type { Project, StackConfig } from "./project";
import { SECRET_SIG, SIG_KEY } from "./propertyValues";
import { recoverPending, refreshAll, type ReadMode } from "./refreshSteps";
import { SecretRedactor } from "./secretRedaction";
import { acquireStackLock, type StackLock } from "./stackLock";
import { STACK_TYPE } from "./urn";

/** Everything one engine run needs. */
export interface DeploymentOptions {
  project: Project;
  stack: string;
  config: StackConfig;
  /** Bound on concurrent provider operations (and the program's own parallelism). */
  parallel: number;
  /** Only these resources (URNs or names) get steps; empty: all of them. */
  targets: string[];
  /** These resources (URNs or names) are replaced whatever the diff says. */
  replaces: string[];
  /** update and preview: read every resource before planning. */
  refresh: boolean;
  events: EventSink;
  /** Who holds the stack lock, as its holder's command line ("hostform up"). */
  command: string;
  stateDir?: string;
  programTimeoutMs?: number;
  providerCallTimeoutMs?: number;
  /** How long the dynamic provider may take to start and report its port (default 30 s). */
  providerStartTimeoutMs?: number;
}

/** How a run ended. */
export interface DeploymentResult {
  ok: boolean;
  counts: Partial<Record<CountedOp, number>>;
  /** Any step other than `same` (for --expect-no-changes). */
  changed: boolean;
  /** drift/refresh: some resource differs from its state. */
  drifted: boolean;
}

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
    await recoverPending(run);
    if (o.refresh) await refreshAll(run, dryRun ? "drift" : "refresh");
    if (run.failed) return;
    await runProgramSession(run);
    if (!run.failed) await deleteUnregistered(run);
    run.dropUnusedDefaultProvider();
  });
}

function refresh(o: DeploymentOptions, mode: ReadMode): Promise<DeploymentResult> {
  return withRun(o, mode, mode === "refresh", async (run) => {
    if (mode === "refresh") await recoverPending(run);
    await refreshAll(run, mode);
  });
}

/** `destroy`: deletes every resource in reverse dependency order and empties the state. */
export function runDestroy(o: DeploymentOptions): Promise<DeploymentResult> {
  return withRun(o, "destroy", true, async (run) => {
    await recoverPending(run);
    await deleteAll(run);
  });
}

async function withRun(given: DeploymentOptions, operation: OperationKind, writes: boolean, body: (run: DeploymentRun) => Promise<void>): Promise<DeploymentResult> {
  const start = Date.now();
  // A missing or wrong passphrase fails the command here, before the lock or any change.
  given.config.secrets.unlock();
  // Every event leaves the engine through the redactor: no display path or --json line shows a secret.
  const redactor = new SecretRedactor();
  for (const k of given.config.secretKeys) redactor.learn({ [SIG_KEY]: SECRET_SIG, value: given.config.values[k] });
  const o: DeploymentOptions = { ...given, events: (e) => given.events(redactor.event(e)) };
  const dryRun = !writes;
  o.events({ type: "start", operation, project: o.project.name, stack: o.stack, dryRun });
  let lock: StackLock | undefined;
  if (writes) lock = acquireStackLock(o.project.name, o.stack, o.command, (m) => o.events({ type: "diagnostic", severity: "warning", message: m }), o.stateDir);
  let run: DeploymentRun;
  try {
    // Reads (and decrypts) the state: a checkpoint sealed under another passphrase fails here.
    run = new DeploymentRun(o, operation, dryRun, redactor);
  } catch (err) {
    lock?.release();
    throw err;
  }
  try {
    await body(run);
  } catch (err) {
    run.fail(describeError(err));
  } finally {
    try {
      await run.close();
      try {
        await run.journal.flush();
      } catch (err) {
        run.fail(`the state could not be written: ${describeError(err)}`);
      }
      if (writes) o.events({ type: "diagnostic", severity: "debug", message: `state written ${run.journal.writes} times` });
    } finally {
      // Whatever failed above, the stack is not left locked.
      lock?.release();
    }
  }
  const stack = run.journal.resources.find((r) => r.type === STACK_TYPE && r.delete !== true);
  if (stack !== undefined && Object.keys(stack.outputs).length > 0 && (operation === "update" || operation === "preview")) o.events({ type: "outputs", outputs: stack.outputs });
  o.events({ type: "summary", operation, ok: !run.failed, dryRun, counts: run.counts, durationMs: Date.now() - start });
  return { ok: !run.failed, counts: run.counts, changed: run.changed, drifted: run.drifted };
}

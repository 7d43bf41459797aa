// Running the user's program against the monitor: each RegisterResource becomes a step (components
// here, custom resources in customStep.ts), and a failed step stops the program.
import { registerCustom } from "./customStep";
import type { DeploymentRun } from "./deploymentRun";
import { startMonitor, type Registration, type RegistrationResult } from "./monitor";
import type { StepOp } from "./planner";
import { EXIT_REPORTED, runProgram } from "./programRun";
import { configEnvironment } from "./project";
import { propertyChanges } from "./propertyChanges";
import { describeError } from "./errorText";
import { changedKeys } from "./propertyValues";
import type { ResourceState } from "./state";

const DEFAULT_PROGRAM_TIMEOUT_MS = 30 * 60_000;

/** Starts the monitor, runs the program to completion (or until a step fails) and waits for its steps. */
export async function runProgramSession(run: DeploymentRun): Promise<void> {
  const o = run.options;
  run.monitor = await startMonitor(o.stack, o.project.name, {
    registerResource: (reg) => {
      const p = register(run, reg);
      run.inflight.add(p);
      void p.then(
        () => run.inflight.delete(p),
        () => run.inflight.delete(p),
      );
      return p;
    },
    registerResourceOutputs: (urn, outputs) => {
      run.redactor.learn(outputs);
      try {
        run.requireSecretsWritable(outputs);
      } catch (err) {
        run.fail(describeError(err), urn);
        return;
      }
      const r = run.journal.live(urn);
      if (r !== undefined) void run.journal.replace(r, { ...r, outputs });
    },
    log: (d) => {
      if (d.severity === "error") run.failed = true;
      run.diag(d);
    },
  });
  // Starting the provider host while the program loads hides most of its ~0.5 s start-up. A failed
  // start is reported by the first step that needs the provider (and by nothing, if none does).
  void run.provider().catch(() => undefined);
  const timeoutMs = o.programTimeoutMs ?? DEFAULT_PROGRAM_TIMEOUT_MS;
  run.program = runProgram({
    project: o.project,
    stack: o.stack,
    monitorAddress: run.monitor.monitorAddress,
    engineAddress: run.monitor.engineAddress,
    dryRun: run.dryRun,
    parallel: o.parallel,
    env: configEnvironment(o.config),
    onOutput: (line) => run.diag({ severity: "info", message: line }),
    timeoutMs,
  });
  const exit = await run.program.done;
  run.program = undefined;
  await Promise.allSettled([...run.inflight]);
  if (exit.timedOut) run.fail(`the program did not finish within ${timeoutMs} ms and was stopped`);
  else if (exit.code === EXIT_REPORTED) run.failed = true;
  else if (exit.code !== 0 && !run.failed) run.fail(`the program exited with ${exit.signal ?? `code ${exit.code}`}`);
}

async function register(run: DeploymentRun, reg: Registration): Promise<RegistrationResult> {
  run.registered.add(reg.urn);
  run.redactor.learn(reg.inputs);
  const started = Date.now();
  let op: StepOp = "create";
  try {
    if (!reg.custom) {
      run.requireSecretsWritable(reg.inputs);
      return registerComponent(run, reg);
    }
    return await registerCustom(run, reg, (o) => {
      op = o;
    });
  } catch (err) {
    run.stepFailed(op, reg.urn, err, started);
    // Tell the program to stop: a gRPC error would make cmd/run report it again and hang.
    run.monitor?.terminate();
    run.program?.stop();
    throw err;
  }
}

/** A component has no provider: its state is what the program registered. */
function registerComponent(run: DeploymentRun, reg: Registration): RegistrationResult {
  const old = run.journal.live(reg.urn);
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
  if (old === undefined) void run.journal.add(next);
  else void run.journal.replace(old, next);
  const op: StepOp = old === undefined ? "create" : changedKeys(old.inputs, reg.inputs).length > 0 ? "update" : "same";
  run.count(op);
  run.emit({ type: "step-done", op, urn: reg.urn, dryRun: run.dryRun, durationMs: 0, changes: old === undefined ? [] : propertyChanges(old.inputs, reg.inputs) });
  return { id: "", outputs: {} };
}

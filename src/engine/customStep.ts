// Registering a custom resource, as Pulumi's step generator does: Check the inputs, Diff them
// against the state, plan the step, then run it (Create, Update, or a replacement) with each
// provider call recorded in the journal while it runs. Each stage hands the next a typed record of
// what it found, so that what a step needs (the old state of an update or a replacement) is there
// by construction. The `import` option takes the Read path of Pulumi's ImportStep instead of Create.
import { HostformError, NotFoundError } from "../sys/errors";
import { deleteForReplacement } from "./deleteSteps";
import type { DeploymentRun } from "./deploymentRun";
import type { EngineEvent, PropertyChange } from "./events";
import type { Registration, RegistrationResult } from "./monitor";
import { applyIgnoreChanges, planChange, type StepOp } from "./planner";
import { pick, propertyChanges } from "./propertyChanges";
import { markSecrets, unwrapForProvider, type PropertyMap } from "./propertyValues";
import type { CheckResult } from "./providerHost";
import type { ResourceState } from "./state";
import { NODEJS_PROVIDER_TYPE } from "./urn";

/** The resource as the state had it before this registration. */
interface Prior {
  state: ResourceState;
  /** Its inputs as the provider takes them (secrets unwrapped). */
  plainInputs: PropertyMap;
}

/** A registration whose inputs the provider has checked. */
interface Checked {
  reg: Registration;
  prior: Prior | undefined;
  /** The inputs Check returned, as the provider takes them. */
  plainInputs: PropertyMap;
  /** The same with the program's secrets marked again: what the state keeps. */
  inputs: PropertyMap;
  /** Top-level inputs the program marked secret (their outputs stay secret). */
  secretKeys: ReadonlySet<string>;
}

/** What the registration does; each variant carries what running it needs. */
type CustomPlan =
  /** `shownAs` is "replace" for a dependent a delete-before-replace cascade deleted earlier in the run. */
  | { op: "create"; shownAs: "create" | "replace" }
  | { op: "same"; prior: Prior }
  | { op: "update"; prior: Prior }
  | { op: "replace"; prior: Prior; replaceKeys: string[]; deleteBeforeReplace: boolean }
  | { op: "import"; importId: string };

/** A planned step on its way to being run and reported. */
interface Step {
  run: DeploymentRun;
  checked: Checked;
  /** The op counted and shown. */
  op: StepOp;
  changes: PropertyChange[];
  started: number;
  /** Provider reference written into the state ("<urn>::<id>"). */
  providerRef: string;
}

/**
 * Registers one custom resource and answers the program with its id and outputs. `setOp` learns
 * the op as soon as it is planned, so that a failure is reported against the right step.
 */
export async function registerCustom(run: DeploymentRun, reg: Registration, setOp: (op: StepOp) => void): Promise<RegistrationResult> {
  if (reg.provider !== "" && !reg.provider.includes(`::${NODEJS_PROVIDER_TYPE}::`)) {
    throw new HostformError(`explicit provider ${reg.provider} is not supported by the hostform engine (only dynamic resources)`);
  }
  const checked = await check(run, reg);
  if (!run.isTargeted(reg.urn)) return untargetedAnswer(checked);
  run.requireSecretsWritable(checked.inputs, reg.additionalSecretOutputs);
  // Once in the state, the resource is managed like any other and the option has no effect.
  if (reg.importId !== "" && checked.prior === undefined) {
    setOp("import");
    return importResource(run, checked);
  }
  const plan = await planRegistration(run, checked);
  const op = plan.op === "create" ? plan.shownAs : plan.op;
  setOp(op);
  const providerRef = reg.provider !== "" ? reg.provider : run.defaultProviderRef();
  const step: Step = { run, checked, op, changes: changesOf(checked, plan), started: Date.now(), providerRef };
  if (plan.op === "same") return keepSame(step, plan.prior);
  if (plan.op === "replace" && plan.prior.state.protect === true) {
    throw new HostformError(`cannot replace ${reg.urn}: it is protected (set protect: false first)`);
  }
  if (run.dryRun) return previewOnly(step, plan);
  return run.limiter.run(async () => {
    run.emit({ type: "step-start", op, urn: reg.urn, dryRun: false });
    return plan.op === "update" ? applyUpdate(step, plan) : applyCreate(step, plan);
  });
}

/** Check: the provider validates (and may fill in) the inputs; failures stop the step. */
async function check(run: DeploymentRun, reg: Registration): Promise<Checked> {
  const old = run.journal.live(reg.urn);
  const prior = old !== undefined ? { state: old, plainInputs: unwrapForProvider(old.inputs).plain } : undefined;
  const news = prior !== undefined ? applyIgnoreChanges(prior.state.inputs, reg.inputs, reg.ignoreChanges) : reg.inputs;
  const { plain: newsPlain, secretKeys } = unwrapForProvider(news);
  const provider = await run.provider();
  const result = await provider.check(reg.urn, prior?.plainInputs ?? {}, newsPlain);
  if (result.failures.length > 0) throw new HostformError(`invalid inputs: ${describeFailures(result.failures)}`);
  const inputs = markSecrets(result.inputs, secretKeys);
  run.redactor.learn(inputs);
  return { reg, prior, plainInputs: result.inputs, inputs, secretKeys };
}

/** "property: reason" per failure, as Pulumi's CheckFailure means them (the reason alone when it names no property). */
export function describeFailures(failures: CheckResult["failures"]): string {
  return failures.map((f) => (f.property !== "" ? `${f.property}: ${f.reason}` : f.reason)).join("; ");
}

/** Untargeted resources keep their state; the program still needs an answer to go on. */
function untargetedAnswer({ prior, inputs }: Checked): RegistrationResult {
  return prior !== undefined ? { id: prior.state.id ?? "", outputs: prior.state.outputs } : { id: "", outputs: inputs };
}

/** Diff against the state (for a resource it has) and the step that follows from it. */
async function planRegistration(run: DeploymentRun, checked: Checked): Promise<Exclude<CustomPlan, { op: "import" }>> {
  const { reg, prior } = checked;
  if (prior === undefined) return { op: "create", shownAs: run.cascaded.has(reg.urn) ? "replace" : "create" };
  const provider = await run.provider();
  const diff = await provider.diff(reg.urn, prior.state.id ?? "", unwrapForProvider(prior.state.outputs).plain, checked.plainInputs, prior.plainInputs, reg.ignoreChanges);
  const planned = planChange({
    old: prior.state,
    custom: true,
    newInputs: checked.inputs,
    diff,
    forceReplace: run.options.replaces.some((t) => t === reg.urn || t === reg.name),
    replaceOnChanges: reg.replaceOnChanges,
    deleteBeforeReplace: reg.deleteBeforeReplace,
  });
  if (planned.op === "replace") return { op: "replace", prior, replaceKeys: planned.replaceKeys, deleteBeforeReplace: planned.deleteBeforeReplace };
  return { op: planned.op, prior };
}

/** What the step shows as changed: the inputs, or (drift found by --refresh) the live outputs against them. */
function changesOf({ prior, inputs }: Checked, plan: Exclude<CustomPlan, { op: "import" }>): PropertyChange[] {
  if (prior === undefined) return propertyChanges({}, inputs);
  const changes = propertyChanges(prior.state.inputs, inputs);
  // Unchanged inputs but a diff anyway: show it against the live outputs.
  if (changes.length === 0 && plan.op !== "same") return propertyChanges(pick(prior.state.outputs, Object.keys(inputs)), inputs);
  return changes;
}

/** The state entry for the registration, with the id and outputs the step produced. */
function stateOf(step: Step, id: string | undefined, outputs: PropertyMap): ResourceState {
  const { reg, prior, inputs } = step.checked;
  const s: ResourceState = {
    urn: reg.urn,
    type: reg.type,
    custom: true,
    inputs,
    outputs,
    dependencies: reg.dependencies,
    provider: step.providerRef,
    created: prior?.state.created ?? new Date().toISOString(),
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
}

/** Provider outputs as the state keeps them: secret where an input was, or where the program asked. */
function markedOutputs(step: Step, outputs: PropertyMap): PropertyMap {
  const marked = markSecrets(outputs, [...step.checked.secretKeys, ...step.checked.reg.additionalSecretOutputs]);
  step.run.redactor.learn(marked);
  return marked;
}

/** Counts the step and reports it done. */
function done(step: Step, plan: CustomPlan): void {
  const { run } = step;
  run.count(step.op);
  const e: EngineEvent = { type: "step-done", op: step.op, urn: step.checked.reg.urn, dryRun: run.dryRun, durationMs: Date.now() - step.started, changes: step.changes };
  if (plan.op === "replace") {
    e.replaceKeys = plan.replaceKeys;
    e.deleteBeforeReplace = plan.deleteBeforeReplace;
  }
  run.emit(e);
}

/** Nothing to do: the entry keeps its id and outputs, and takes the registration's options. */
function keepSame(step: Step, prior: Prior): RegistrationResult {
  const old = prior.state;
  const s = stateOf(step, old.id, old.outputs);
  if (old.modified !== undefined) s.modified = old.modified;
  if (!step.run.dryRun) void step.run.journal.replace(old, s);
  done(step, { op: "same", prior });
  return { id: old.id ?? "", outputs: old.outputs };
}

/** Preview of a change: reported, not run; the program sees the checked inputs as outputs. */
function previewOnly(step: Step, plan: Exclude<CustomPlan, { op: "same" | "import" }>): RegistrationResult {
  step.run.emit({ type: "step-start", op: step.op, urn: step.checked.reg.urn, dryRun: true });
  done(step, plan);
  return { id: plan.op === "update" ? (plan.prior.state.id ?? "") : "", outputs: step.checked.inputs };
}

/** Update in place, recorded as pending while the provider works. */
async function applyUpdate(step: Step, plan: Extract<CustomPlan, { op: "update" }>): Promise<RegistrationResult> {
  const { run, checked } = step;
  const old = plan.prior.state;
  const token = await run.journal.begin("updating", old);
  let outputs: PropertyMap;
  try {
    outputs = await (await run.provider()).update(checked.reg.urn, old.id ?? "", unwrapForProvider(old.outputs).plain, checked.plainInputs, plan.prior.plainInputs);
  } catch (err) {
    await run.journal.end(token);
    throw err;
  }
  const s = stateOf(step, old.id, markedOutputs(step, outputs));
  s.modified = new Date().toISOString();
  await run.journal.end(token, (edit) => edit.replace(old, s));
  done(step, plan);
  return { id: s.id ?? "", outputs: s.outputs };
}

/**
 * Create, or the create half of a replacement: delete-before-replace deletes the old copy (and the
 * dependents it takes along) first; create-before-delete marks it for deletion at the end of the run.
 */
async function applyCreate(step: Step, plan: Extract<CustomPlan, { op: "create" | "replace" }>): Promise<RegistrationResult> {
  const { run, checked } = step;
  if (plan.op === "replace" && plan.deleteBeforeReplace) await deleteForReplacement(run, plan.prior.state);
  const token = await run.journal.begin("creating", stateOf(step, undefined, {}));
  let created: { id: string; outputs: PropertyMap };
  try {
    created = await (await run.provider()).create(checked.reg.urn, checked.plainInputs);
  } catch (err) {
    await run.journal.end(token);
    throw err;
  }
  const s = stateOf(step, created.id, markedOutputs(step, created.outputs));
  await run.journal.end(token, (edit) => {
    if (plan.op === "replace" && !plan.deleteBeforeReplace) edit.replace(plan.prior.state, { ...plan.prior.state, delete: true });
    edit.add(s);
  });
  done(step, plan);
  return { id: s.id ?? "", outputs: s.outputs };
}

/**
 * The `import` option for a resource the state does not have, as Pulumi's ImportStep: Read the live
 * object by its id (in preview too: reading changes nothing), then Diff the checked declaration
 * against what was read. Any difference fails the import naming the differing inputs (a warning in
 * preview). On success the provider's Update runs with that same declaration (no change to make:
 * it is where hostform's providers record the stack and resource as the object's owner, so that it
 * is this stack's from now on), and the resource enters the state with the outputs Update observed.
 * Pulumi's ImportStep stores Read's outputs and calls nothing more; a provider without owners to
 * record gets an Update with no changes, which must be a no-op.
 */
async function importResource(run: DeploymentRun, checked: Checked): Promise<RegistrationResult> {
  const { reg } = checked;
  const plan = { op: "import" as const, importId: reg.importId };
  const step: Step = { run, checked, op: "import", changes: [], started: Date.now(), providerRef: reg.provider !== "" ? reg.provider : run.defaultProviderRef() };
  run.emit({ type: "step-start", op: "import", urn: reg.urn, dryRun: run.dryRun });
  const provider = await run.provider();
  const read = await provider.read(reg.urn, reg.importId, {}, checked.plainInputs);
  if (read.id === "") {
    throw new NotFoundError(`${reg.type.split(":").pop() ?? reg.type} to import`, reg.importId, `the import option of ${reg.name} names nothing that exists on this host; check the id`);
  }
  const diff = await provider.diff(reg.urn, read.id, read.outputs, checked.plainInputs, read.inputs ?? {}, reg.ignoreChanges);
  const live = markSecrets(pick(read.outputs, Object.keys(checked.inputs)), [...checked.secretKeys]);
  step.changes = propertyChanges(live, checked.inputs);
  const differing = [...new Set([...diff.replaces, ...step.changes.map((c) => c.key)])].sort();
  if (diff.changes === "some" || (diff.changes === "unknown" && differing.length > 0)) {
    const message = `inputs to import do not match the existing resource: ${differing.length > 0 ? differing.join(", ") : "the provider found the live object different (e.g. not running)"}`;
    if (!run.dryRun) throw new HostformError(`${message}; declare them as the live object has them (or drop the import option to make a new one)`);
    run.diag({ severity: "warning", message: `${message}; importing this resource will fail`, urn: reg.urn });
  }
  if (run.dryRun) {
    done(step, plan);
    return { id: read.id, outputs: markedOutputs(step, read.outputs) };
  }
  return run.limiter.run(async () => {
    const token = await run.journal.begin("updating", stateOf(step, read.id, markedOutputs(step, read.outputs)));
    let outputs: PropertyMap;
    try {
      outputs = await provider.update(reg.urn, read.id, read.outputs, checked.plainInputs, read.inputs ?? {});
    } catch (err) {
      await run.journal.end(token);
      throw err;
    }
    const s = stateOf(step, read.id, markedOutputs(step, outputs));
    await run.journal.end(token, (edit) => edit.add(s));
    done(step, plan);
    return { id: read.id, outputs: s.outputs };
  });
}

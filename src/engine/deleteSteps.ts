// Deleting resources in reverse dependency order: what the program no longer declares, the whole
// stack (`destroy`), and the first half of a delete-before-replace with the dependents it takes along.
import { HostformError } from "../sys/errors";
import type { DeploymentRun } from "./deploymentRun";
import type { EngineEvent } from "./events";
import { deleteDependencies, dependentReplacements, planChange } from "./planner";
import { propertyChanges } from "./propertyChanges";
import { UNKNOWN, unwrapForProvider, type PropertyMap } from "./propertyValues";
import { requiredUrns, type ResourceState } from "./state";
import { NODEJS_PROVIDER_TYPE } from "./urn";

/** Deletes what the program no longer declares, and old copies of replaced resources. */
export async function deleteUnregistered(run: DeploymentRun): Promise<void> {
  const doomed = run.journal.resources.filter((r) => (r.delete === true || !run.registered.has(r.urn)) && r.type !== NODEJS_PROVIDER_TYPE && run.isTargeted(r.urn));
  await deleteInOrder(run, doomed, true);
}

/** Deletes the whole stack. */
export async function deleteAll(run: DeploymentRun): Promise<void> {
  const doomed = run.journal.resources.filter((r) => run.isTargeted(r.urn));
  await deleteInOrder(run, doomed, true);
  if (!run.failed) run.dropUnusedDefaultProvider();
}

/**
 * Delete-before-replace: the dependents that must be replaced too go first, then the resource
 * itself. As in Pulumi, a dependent must go only when its provider says so: Diff is asked with
 * every input that depends on a replaced resource set to unknown; a dependent tied only through
 * dependsOn, or whose diff is an update, stays and keeps pointing at the new copy.
 */
export async function deleteForReplacement(run: DeploymentRun, old: ResourceState): Promise<void> {
  const provider = await run.provider();
  const doomed = await dependentReplacements(old, run.journal.resources, run.registered, async (r, unknownKeys) => {
    const inputs: PropertyMap = { ...r.inputs };
    for (const k of unknownKeys) inputs[k] = UNKNOWN;
    const diff = await provider.diff(r.urn, r.id ?? "", unwrapForProvider(r.outputs).plain, unwrapForProvider(inputs).plain, unwrapForProvider(r.inputs).plain, r.ignoreChanges ?? []);
    return planChange({ old: r, custom: true, newInputs: inputs, diff, forceReplace: false, replaceOnChanges: r.replaceOnChanges ?? [], deleteBeforeReplace: undefined }).op === "replace";
  });
  for (const r of doomed) {
    if (r !== old) run.cascaded.add(r.urn);
    run.deletedForReplacement.add(r.urn);
  }
  const ok = await deleteInOrder(run, doomed, false);
  if (!ok) throw new HostformError(`could not delete ${old.urn} and its dependents before replacing it`);
}

/**
 * Deletes `doomed` in reverse dependency order, as many at once as --parallel allows. A resource
 * whose dependent failed to go is left alone. Returns false when anything failed.
 */
async function deleteInOrder(run: DeploymentRun, doomed: ResourceState[], usesLimiter: boolean): Promise<boolean> {
  const before = deleteDependencies(doomed.filter((r) => r.type !== NODEJS_PROVIDER_TYPE), requiredUrns);
  const results = new Map<ResourceState, Promise<boolean>>();
  const del = (r: ResourceState): Promise<boolean> => {
    let p = results.get(r);
    if (p === undefined) {
      p = Promise.all((before.get(r) ?? []).map(del)).then(async (deps) => {
        if (deps.some((ok) => !ok)) return false;
        return usesLimiter ? run.limiter.run(() => deleteOne(run, r)) : deleteOne(run, r);
      });
      results.set(r, p);
    }
    return p;
  };
  const all = await Promise.all([...before.keys()].map(del));
  return all.every((ok) => ok);
}

async function deleteOne(run: DeploymentRun, r: ResourceState): Promise<boolean> {
  const started = Date.now();
  const changes = propertyChanges(r.inputs, {});
  try {
    if (r.protect === true && r.delete !== true) throw new HostformError(`cannot delete ${r.urn}: it is protected (set protect: false first)`);
    run.emit({ type: "step-start", op: "delete", urn: r.urn, dryRun: run.dryRun });
    if (!run.dryRun) await deleteFromHost(run, r);
    // The old copy of a replacement is part of the replace step, not a delete of its own.
    const original = r.delete === true || run.deletedForReplacement.has(r.urn);
    if (!original) run.count("delete");
    const e: EngineEvent = { type: "step-done", op: "delete", urn: r.urn, dryRun: run.dryRun, durationMs: Date.now() - started, changes };
    if (original) e.replacedOriginal = true;
    run.emit(e);
    return true;
  } catch (err) {
    run.stepFailed("delete", r.urn, err, started);
    return false;
  }
}

/** Calls the provider's Delete (recorded as a pending operation) or, for what has no live object, only drops the entry. */
async function deleteFromHost(run: DeploymentRun, r: ResourceState): Promise<void> {
  if (!r.custom || r.retainOnDelete === true || !r.id) {
    if (r.retainOnDelete === true) run.diag({ severity: "info", urn: r.urn, message: "retainOnDelete: removed from the state, left in place on the host" });
    await run.journal.remove(r);
    return;
  }
  const provider = await run.provider();
  const token = await run.journal.begin("deleting", r);
  try {
    await provider.delete(r.urn, r.id, unwrapForProvider(r.outputs).plain, unwrapForProvider(r.inputs).plain);
  } catch (err) {
    await run.journal.end(token);
    throw err;
  }
  await run.journal.end(token, (edit) => edit.remove(r));
}

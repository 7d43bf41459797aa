// Reading resources back from the host: `refresh` and `drift` (and `up --refresh`) call Read for
// every custom resource, and an interrupted run's pending operations are re-read before anything else.
import type { DeploymentRun } from "./deploymentRun";
import { classifyDrift, splitLiveStatus, type LiveState } from "./driftCheck";
import type { EngineEvent } from "./events";
import { isSecret, markSecrets, unwrapForProvider, type PropertyMap } from "./propertyValues";
import type { ResourceState } from "./state";
import { NODEJS_PROVIDER_TYPE } from "./urn";

export type ReadMode = "refresh" | "drift";

/** Pending operations from an interrupted run: warn, re-read what can be read, and clear them. */
export async function recoverPending(run: DeploymentRun): Promise<void> {
  const pending = [...run.journal.pending];
  if (pending.length === 0) return;
  for (const op of pending) {
    const r = op.resource;
    if (op.type === "creating") {
      run.diag({ severity: "warning", urn: r.urn, message: `an earlier run was interrupted while creating this resource; it may exist without being in the state, and will be created again (its provider must adopt what it finds)` });
      continue;
    }
    run.diag({ severity: "warning", urn: r.urn, message: `an earlier run was interrupted while ${op.type} this resource; reading its live state` });
    const entry = run.journal.live(r.urn);
    if (entry !== undefined && entry.custom && entry.id) await refreshOne(run, entry, entry.id, "refresh");
  }
  if (!run.dryRun) await run.journal.clearPending();
}

/** Calls Read once for every custom resource, concurrently within --parallel. */
export async function refreshAll(run: DeploymentRun, mode: ReadMode): Promise<void> {
  const reads: Promise<void>[] = [];
  for (const r of run.journal.resources) {
    const id = r.id;
    if (!r.custom || !id || r.type === NODEJS_PROVIDER_TYPE || r.delete === true || !run.isTargeted(r.urn)) continue;
    reads.push(run.limiter.run(() => refreshOne(run, r, id, mode)));
  }
  await Promise.all(reads);
}

/**
 * Reads one resource and reports it as Pulumi's refresh does: Read gives the live candidate, and
 * the provider's Diff of it against the declared inputs decides drift (outputs that change on
 * their own are refreshed, not drift). refresh writes the candidate; drift only reports.
 */
async function refreshOne(run: DeploymentRun, r: ResourceState, id: string, mode: ReadMode): Promise<void> {
  const started = Date.now();
  run.emit({ type: "step-start", op: "refresh", urn: r.urn, dryRun: mode === "drift" });
  try {
    const provider = await run.provider();
    const oldInputsPlain = unwrapForProvider(r.inputs).plain;
    const res = await provider.read(r.urn, id, unwrapForProvider(r.outputs).plain, oldInputsPlain);
    if (res.id === "") {
      run.drifted = true;
      run.count("drifted");
      run.emit({ type: "drift", urn: r.urn, status: "missing", changes: [] });
      if (mode === "refresh" && !run.dryRun) await run.journal.remove(r);
      return;
    }
    // The live status is the provider's report to the engine, not an output of the resource.
    const read = splitLiveStatus(res.outputs);
    const outputs = markSecrets(read.outputs, [...secretKeysOf(r.outputs), ...(r.additionalSecretOutputs ?? [])]);
    const liveInputs = res.inputs !== undefined ? markSecrets(res.inputs, secretKeysOf(r.inputs)) : undefined;
    run.redactor.learn(outputs);
    // As Pulumi: Diff(olds = the candidate's outputs and inputs, news = the declared inputs).
    const diff = await provider.diff(r.urn, res.id, read.outputs, oldInputsPlain, res.inputs ?? oldInputsPlain, r.ignoreChanges ?? []);
    const live: LiveState = { outputs };
    if (liveInputs !== undefined) live.inputs = liveInputs;
    if (read.status !== undefined) live.status = read.status;
    const finding = classifyDrift(r, live, diff);
    if (finding.status !== "in-sync") {
      run.drifted = true;
      run.count("drifted");
    }
    const event: EngineEvent = { type: "drift", urn: r.urn, status: finding.status, changes: finding.changes };
    if (finding.outputsChanged.length > 0) event.outputsChanged = finding.outputsChanged;
    run.emit(event);
    run.count("refresh");
    const next: ResourceState = { ...r, id: res.id, outputs };
    if (liveInputs !== undefined) next.inputs = liveInputs;
    if (mode === "refresh" && !run.dryRun) await run.journal.replace(r, next);
    else if (mode === "drift" && run.operation === "preview") await run.journal.replace(r, next);
    run.emit({ type: "step-done", op: "refresh", urn: r.urn, dryRun: mode === "drift", durationMs: Date.now() - started, changes: finding.changes });
  } catch (err) {
    run.stepFailed("refresh", r.urn, err, started);
  }
}

function secretKeysOf(props: PropertyMap): string[] {
  return Object.entries(props)
    .filter(([, v]) => isSecret(v))
    .map(([k]) => k);
}

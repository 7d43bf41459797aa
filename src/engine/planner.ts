import type { DiffResult } from "./providerHost";
import { changedKeys, type PropertyMap } from "./propertyValues";
import { providerUrn, sortByDependencies, type ResourceState } from "./state";

/** What happens to a registered resource, as in Pulumi's step generator. */
export type StepOp = "create" | "same" | "update" | "replace" | "delete" | "import";

export interface PlannedStep {
  op: Exclude<StepOp, "delete" | "import">;
  /** Top-level input keys whose values change. */
  changed: string[];
  /** Keys that force the replacement (provider's replaces, replaceOnChanges matches, or ["*"] for --replace). */
  replaceKeys: string[];
  deleteBeforeReplace: boolean;
}

export interface PlanInput {
  old: ResourceState | undefined;
  custom: boolean;
  newInputs: PropertyMap;
  /** undefined for components and new resources (no Diff call). */
  diff: DiffResult | undefined;
  /** --replace named this resource. */
  forceReplace: boolean;
  replaceOnChanges: string[];
  /** The resource option; undefined when the program left it unset. */
  deleteBeforeReplace: boolean | undefined;
}

/** The step for a resource the state already has: never a create. */
export interface PlannedChange extends PlannedStep {
  op: Exclude<StepOp, "delete" | "create" | "import">;
}

/** A registration of a resource the state already has. */
export interface ChangeInput extends PlanInput {
  old: ResourceState;
}

/** Decides the step for one registration: a create when the state has no such resource, else planChange. */
export function planStep(p: PlanInput): PlannedStep {
  if (p.old === undefined) return { op: "create", changed: Object.keys(p.newInputs).sort(), replaceKeys: [], deleteBeforeReplace: false };
  return planChange({ ...p, old: p.old });
}

/**
 * Decides the step for a resource the state already has. A provider answering DIFF_UNKNOWN (no diff
 * method) gets the engine's own comparison of old and new inputs, as Pulumi does.
 */
export function planChange(p: ChangeInput): PlannedChange {
  const dbrOption = p.deleteBeforeReplace;
  const changed = changedKeys(p.old.inputs, p.newInputs);
  const dbr = (providerDbr: boolean) => dbrOption ?? providerDbr;
  if (p.forceReplace) return { op: "replace", changed, replaceKeys: ["*"], deleteBeforeReplace: dbr(p.diff?.deleteBeforeReplace ?? false) };
  if (!p.custom) return { op: changed.length > 0 ? "update" : "same", changed, replaceKeys: [], deleteBeforeReplace: false };
  const diff = p.diff ?? { changes: "unknown" as const, replaces: [], deleteBeforeReplace: false };
  const hasChanges = diff.changes === "some" || (diff.changes === "unknown" && changed.length > 0);
  if (!hasChanges) return { op: "same", changed: [], replaceKeys: [], deleteBeforeReplace: false };
  const forced = p.replaceOnChanges.includes("*") ? changed : changed.filter((k) => p.replaceOnChanges.some((r) => r === k || r.startsWith(`${k}.`) || r.startsWith(`${k}[`)));
  const replaceKeys = [...new Set([...diff.replaces, ...forced])].sort();
  if (replaceKeys.length > 0) return { op: "replace", changed, replaceKeys, deleteBeforeReplace: dbr(diff.deleteBeforeReplace) };
  return { op: "update", changed, replaceKeys: [], deleteBeforeReplace: false };
}

/**
 * Applies ignoreChanges: each listed property path keeps its old input value (or stays absent when
 * it had none), so the provider never sees a change there. Paths are "a" or "a.b.c".
 */
export function applyIgnoreChanges(oldInputs: PropertyMap, news: PropertyMap, ignore: string[]): PropertyMap {
  if (ignore.length === 0) return news;
  const out = structuredClone(news);
  for (const path of ignore) {
    const parts = path.split(".");
    const oldVal = getPath(oldInputs, parts);
    setPath(out, parts, oldVal);
  }
  return out;
}

function getPath(o: unknown, parts: string[]): unknown {
  let cur: unknown = o;
  for (const p of parts) {
    if (typeof cur !== "object" || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

function setPath(o: Record<string, unknown>, parts: string[], v: unknown): void {
  let cur: Record<string, unknown> = o;
  for (const p of parts.slice(0, -1)) {
    const next = cur[p];
    if (typeof next !== "object" || next === null) {
      if (v === undefined) return;
      cur[p] = {};
    }
    cur = cur[p] as Record<string, unknown>;
  }
  const last = parts[parts.length - 1] as string;
  if (v === undefined) delete cur[last];
  else cur[last] = v;
}

/**
 * Order for deleting `doomed`: a resource goes only after everything among `doomed` that depends
 * on it. Returns, for each resource, the ones that must be gone first.
 */
export function deleteDependencies(doomed: ResourceState[], needs: (r: ResourceState) => string[]): Map<ResourceState, ResourceState[]> {
  const before = new Map<ResourceState, ResourceState[]>();
  const byUrn = new Map<string, ResourceState[]>();
  for (const r of doomed) {
    before.set(r, []);
    byUrn.set(r.urn, [...(byUrn.get(r.urn) ?? []), r]);
  }
  for (const r of doomed) {
    for (const urn of needs(r)) {
      for (const d of byUrn.get(urn) ?? []) if (d !== r) before.get(d)!.push(r);
    }
  }
  return before;
}

/**
 * The resources a delete-before-replace of `root` takes with it, `root` first: Pulumi's
 * calculateDependentReplacements. Walking the state in dependency order, a custom resource not yet
 * registered in this run is replaced when its provider is, or when `requiresReplacement` (a Diff
 * with the inputs that depend on a replaced resource set to unknown) says so. Components and
 * resources tied only through dependsOn or parent are never taken along.
 */
export async function dependentReplacements(
  root: ResourceState,
  resources: ResourceState[],
  registered: ReadonlySet<string>,
  requiresReplacement: (r: ResourceState, unknownKeys: string[]) => Promise<boolean>,
): Promise<ResourceState[]> {
  const replaced = new Set<string>([root.urn]);
  const out: ResourceState[] = [root];
  for (const r of sortByDependencies(resources)) {
    if (r === root || r.delete === true || !r.custom || registered.has(r.urn)) continue;
    let replace = r.provider !== undefined && r.provider !== "" && replaced.has(providerUrn(r.provider));
    if (!replace) {
      const unknownKeys = Object.keys(r.inputs).filter((k) => (r.propertyDependencies?.[k] ?? []).some((u) => replaced.has(u)));
      if (unknownKeys.length > 0) replace = await requiresReplacement(r, unknownKeys);
    }
    if (replace) {
      replaced.add(r.urn);
      out.push(r);
    }
  }
  return out;
}

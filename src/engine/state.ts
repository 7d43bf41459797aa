import type { PropertyMap } from "./propertyValues";

/**
 * One resource as the engine keeps it (Pulumi's apitype.ResourceV3 fields that hostform uses).
 * Property values are in wire form: secrets are `{sig, value}` objects.
 */
export interface ResourceState {
  urn: string;
  type: string;
  custom: boolean;
  id?: string;
  inputs: PropertyMap;
  outputs: PropertyMap;
  parent?: string;
  protect?: boolean;
  retainOnDelete?: boolean;
  /** True on the old copy of a create-before-delete replacement until it is deleted. */
  delete?: boolean;
  /** True when a delete-before-replace already deleted it and the replacement is not created yet. */
  pendingReplacement?: boolean;
  dependencies: string[];
  propertyDependencies?: Record<string, string[]>;
  provider?: string;
  additionalSecretOutputs?: string[];
  ignoreChanges?: string[];
  replaceOnChanges?: string[];
  created?: string;
  modified?: string;
}

export type OperationType = "creating" | "updating" | "deleting" | "reading";

/** A provider call that had started when the state was last written. */
export interface PendingOperation {
  resource: ResourceState;
  type: OperationType;
}

/** The stack's latest deployment. */
export interface Snapshot {
  resources: ResourceState[];
  pendingOperations: PendingOperation[];
}

export function emptySnapshot(): Snapshot {
  return { resources: [], pendingOperations: [] };
}

/**
 * Orders resources so that each comes after its parent, provider and dependencies, keeping the
 * given order otherwise (Pulumi refuses a checkpoint where a resource precedes what it needs).
 */
export function sortByDependencies(resources: ResourceState[]): ResourceState[] {
  const byUrn = new Map<string, ResourceState[]>();
  for (const r of resources) {
    const list = byUrn.get(r.urn) ?? [];
    list.push(r);
    byUrn.set(r.urn, list);
  }
  const out: ResourceState[] = [];
  const placed = new Set<ResourceState>();
  const visiting = new Set<ResourceState>();
  const visit = (r: ResourceState): void => {
    if (placed.has(r) || visiting.has(r)) return;
    visiting.add(r);
    for (const dep of requiredUrns(r)) for (const d of byUrn.get(dep) ?? []) if (d !== r) visit(d);
    visiting.delete(r);
    placed.add(r);
    out.push(r);
  };
  for (const r of resources) visit(r);
  return out;
}

/** URNs r needs to exist before it: parent, provider, dependencies, property dependencies. */
export function requiredUrns(r: ResourceState): string[] {
  const urns = new Set<string>(r.dependencies);
  if (r.parent !== undefined && r.parent !== "") urns.add(r.parent);
  if (r.provider !== undefined && r.provider !== "") urns.add(providerUrn(r.provider));
  for (const deps of Object.values(r.propertyDependencies ?? {})) for (const d of deps) urns.add(d);
  urns.delete(r.urn);
  return [...urns];
}

/** Provider references are "<urn>::<id>". */
export function providerUrn(ref: string): string {
  const i = ref.lastIndexOf("::");
  return i < 0 ? ref : ref.slice(0, i);
}

// Deciding whether a refreshed resource drifted, the way Pulumi's refresh does: Read gives the
// candidate state, and the provider's Diff of that candidate against the declared inputs says
// whether `up` would have anything to do. Outputs that change on their own (a pid after a restart
// by the container's policy, a start time, usage figures) are refreshed but are not drift.
import { LIVE_STATUS_KEY, liveStatusOf, type LiveStatus } from "../../providers/liveStatus";
import type { PropertyChange } from "./events";
import { propertyChanges as changes } from "./propertyChanges";
import type { PropertyMap } from "./propertyValues";
import type { DiffResult } from "./providerHost";
import type { ResourceState } from "./state";

/** How a resource compares with its live object. */
export type DriftStatus = "in-sync" | "modified" | "missing" | "stopped";

/** The verdict for one resource that Read still found. */
export interface DriftFinding {
  status: Exclude<DriftStatus, "missing">;
  /** What drifted, old → live: input-relevant properties, else the outputs that changed. */
  changes: PropertyChange[];
  /** Outputs that changed without being drift (or beside it), names only. */
  outputsChanged: string[];
}

/** What Read returned for a resource that still exists. */
export interface LiveState {
  outputs: PropertyMap;
  /** Inputs as the provider reads them back, when it returns any. */
  inputs?: PropertyMap;
  /** What the provider reported about the live object (providers/liveStatus.ts). */
  status?: LiveStatus;
}

/** Splits Read's outputs into the resource's own and the live status its provider reported with them. */
export function splitLiveStatus(outputs: PropertyMap): { outputs: PropertyMap; status: LiveStatus | undefined } {
  if (!(LIVE_STATUS_KEY in outputs)) return { outputs, status: undefined };
  const own: PropertyMap = { ...outputs };
  delete own[LIVE_STATUS_KEY];
  return { outputs: own, status: liveStatusOf(outputs) };
}

/**
 * Classifies a refreshed resource. `diff` is the provider's Diff with the live outputs as olds and
 * the declared inputs as news; when the provider cannot tell (no diff method: DIFF_UNKNOWN), the
 * declared-vs-live comparison decides: inputs read back, and outputs of the keys that are inputs.
 * Drift of an object its provider reported stopped is `stopped`; the engine reads no output of its own.
 */
export function classifyDrift(old: ResourceState, live: LiveState, diff: DiffResult): DriftFinding {
  const outputChanges = changes(old.outputs, live.outputs);
  const inputKeys = new Set(Object.keys(old.inputs));
  const relevant = [...(live.inputs !== undefined ? changes(old.inputs, live.inputs) : [])];
  for (const ch of outputChanges) if (inputKeys.has(ch.key) && !relevant.some((r) => r.key === ch.key)) relevant.push(ch);
  const drifted = diff.changes === "some" || (diff.changes === "unknown" && relevant.length > 0);
  if (!drifted) return { status: "in-sync", changes: [], outputsChanged: outputChanges.map((c) => c.key) };
  // The provider saw drift in what is not declared (a limit rewritten, a process gone): the
  // outputs that changed are the evidence.
  const shown = relevant.length > 0 ? relevant : outputChanges;
  const shownKeys = new Set(shown.map((c) => c.key));
  return {
    status: live.status === "stopped" ? "stopped" : "modified",
    changes: shown,
    outputsChanged: outputChanges.filter((c) => !shownKeys.has(c.key)).map((c) => c.key),
  };
}

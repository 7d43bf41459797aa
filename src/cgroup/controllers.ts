// What a version's manager does with its list of controllers: each one gets its own group's part of
// the limits (youki's manager loop), and the parts are merged back. Shared by the v1 and v2 managers.
import type { AnyController, StatsPart } from "./controller";
import { fieldName } from "./fields";
import type { NormalizedLimits } from "./spec";

type Parts = Record<string, unknown>;

/** Each controller's version conversion of its group (as given when it has none). */
export function normalizeEach(controllers: readonly AnyController[], limits: NormalizedLimits, fieldPrefix: string): NormalizedLimits {
  const given = limits as Parts;
  const out: Parts = {};
  for (const c of controllers) {
    const group = c.limits?.name;
    if (group === undefined || given[group] === undefined) continue;
    out[group] = c.normalize !== undefined ? c.normalize(given[group], fieldName(fieldPrefix, group)) : given[group];
  }
  return out as NormalizedLimits;
}

/** Writes each controller's group into its directory. */
export function applyEach(controllers: readonly AnyController[], dirOf: (c: AnyController) => string, limits: NormalizedLimits): void {
  const given = limits as Parts;
  for (const c of controllers) {
    const group = c.limits?.name;
    if (group !== undefined && given[group] !== undefined) c.apply?.(dirOf(c), given[group]);
  }
}

/** Reads back every controller's group. */
export function readEach(controllers: readonly AnyController[], dirOf: (c: AnyController) => string): NormalizedLimits {
  const out: Parts = {};
  for (const c of controllers) {
    const group = c.limits?.name;
    if (group !== undefined && c.read !== undefined) out[group] = c.read(dirOf(c));
  }
  return out as NormalizedLimits;
}

/** Every controller's usage counters. */
export function statsEach(controllers: readonly AnyController[], dirOf: (c: AnyController) => string): StatsPart[] {
  return controllers.flatMap((c) => (c.stats !== undefined ? [c.stats(dirOf(c))] : []));
}

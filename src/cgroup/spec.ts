// The version-neutral limits a user declares: one group per controller, composed from the groups the
// v1 and v2 controller lists carry (src/cgroup/v2/<group>.ts defines each), their validation, the
// lifting of limits no longer declared, OCI linux.resources, and drift comparison.
import { ValidationError } from "../sys/errors";
import type { DeclaredOf, LimitGroup, NormalizedOf } from "./controller";
import { checkKeys, fieldName, ociObject } from "./fields";
import { V1_CONTROLLERS } from "./v1/manager";
import { V2_CONTROLLERS } from "./v2/manager";

type GroupOf<C> = C extends { readonly limits: infer G } ? (G extends LimitGroup ? G : never) : never;
type Groups = GroupOf<(typeof V2_CONTROLLERS)[number] | (typeof V1_CONTROLLERS)[number]>;

/** Limit group names ("memory", "cpu", "cpuset", "pids", "io"). */
export type LimitGroupName = Groups["name"];

/** Cgroup limits as a user declares them; every group and field is optional. */
export type CgroupLimits = { [G in Groups as G["name"]]?: DeclaredOf<G> };

/**
 * Limits in the kernel's own terms: bytes rounded to pages, "max" for unlimited, cpu as quota/period,
 * cpu lists in canonical ranges, devices sorted. Produced by validateLimits and a driver's normalize
 * (which also converts weight/shares to the scale its version stores) and by a driver's read, so the
 * two compare with diffLimits.
 */
export type NormalizedLimits = { [G in Groups as G["name"]]?: NormalizedOf<G> };

/** Every limit group, once, in the order the v2 list names them. */
export const LIMIT_GROUP_DEFS: readonly LimitGroup[] = [...new Set([...V2_CONTROLLERS, ...V1_CONTROLLERS].flatMap((c) => (c.limits !== undefined ? [c.limits as LimitGroup] : [])))];

/** Controller groups a limits object can name. */
export const LIMIT_GROUPS: readonly LimitGroupName[] = LIMIT_GROUP_DEFS.map((g) => g.name as LimitGroupName);

type Parts = Record<string, unknown>;

/**
 * Validates declared limits and resolves them into kernel terms (sizes in bytes rounded to pages,
 * cores into quota/period, canonical cpu lists, sorted devices). Every error is a ValidationError
 * naming the field under fieldPrefix (e.g. "limits.memory.max"). Unknown controllers and limits are
 * errors, never ignored.
 */
export function validateLimits(input: unknown, fieldPrefix = ""): NormalizedLimits {
  const top = checkKeys(input ?? {}, fieldPrefix, LIMIT_GROUPS, "controller");
  const out: Parts = {};
  for (const g of LIMIT_GROUP_DEFS) if (top[g.name] !== undefined) out[g.name] = g.validate(top[g.name], fieldName(fieldPrefix, g.name));
  return out as NormalizedLimits;
}

/**
 * The limits to apply for `news`, plus the lifted ("no limit") value of every limit `olds` declared
 * and `news` no longer does: the kernel keeps the last value written.
 */
export function withLiftedLimits(olds: CgroupLimits, news: CgroupLimits): CgroupLimits {
  const o = olds as Parts;
  const n = news as Parts;
  const out: Parts = {};
  for (const g of LIMIT_GROUP_DEFS) {
    const og = o[g.name];
    const ng = n[g.name];
    const lifted = og == null ? ng : g.lift(og, ng ?? {});
    if (lifted != null && Object.keys(lifted).length > 0) out[g.name] = lifted;
  }
  return out as CgroupLimits;
}

/**
 * OCI linux.resources (config.json) as hostform's declared limits; -1 (OCI's unlimited) becomes
 * "max". A field no group reads is refused by name, never dropped, except the keys the caller
 * handles itself (alsoAccepted).
 */
export function limitsFromOci(input: unknown, field = "linux.resources", alsoAccepted: readonly string[] = []): CgroupLimits | undefined {
  const r = ociObject(input, field);
  if (r === undefined) return undefined;
  const readers = LIMIT_GROUP_DEFS.flatMap((g) => (g.oci !== undefined ? [{ group: g.name, oci: g.oci }] : []));
  const keys = [...new Set(readers.map((x) => x.oci.key))];
  for (const k of Object.keys(r)) if (!keys.includes(k) && !alsoAccepted.includes(k)) throw new ValidationError(`${field}.${k}`, "is not supported by hostform", `remove ${field}.${k}`);
  const out: Parts = {};
  for (const key of keys) {
    const o = ociObject(r[key], `${field}.${key}`);
    if (o === undefined) continue;
    const mine = readers.filter((x) => x.oci.key === key);
    const known = mine.flatMap((x) => x.oci.fields);
    for (const k of Object.keys(o)) if (!known.includes(k)) throw new ValidationError(`${field}.${key}.${k}`, "is not supported by hostform", `remove ${field}.${key}.${k}`);
    for (const { group, oci } of mine) {
      const declared = oci.from(o, `${field}.${key}`);
      if (declared !== undefined) out[group] = declared;
    }
  }
  return out as CgroupLimits;
}

/** One limit whose live value differs from the declared one. */
export interface LimitDrift {
  /** Dotted field, e.g. "memory.max". */
  field: string;
  declared: unknown;
  live: unknown;
}

/**
 * Compares declared limits (normalized for the driver) with live ones read back by the same driver.
 * Only fields present in `want` are compared: an undeclared limit is not drift.
 */
export function diffLimits(want: NormalizedLimits, live: NormalizedLimits): LimitDrift[] {
  const out: LimitDrift[] = [];
  for (const group of LIMIT_GROUPS) {
    const w = (want as Parts)[group] as Parts | undefined;
    if (w === undefined) continue;
    const l = ((live as Parts)[group] ?? {}) as Parts;
    for (const [key, declared] of Object.entries(w)) {
      if (declared === undefined) continue;
      if (JSON.stringify(declared) !== JSON.stringify(l[key])) out.push({ field: `${group}.${key}`, declared, live: l[key] });
    }
  }
  return out;
}

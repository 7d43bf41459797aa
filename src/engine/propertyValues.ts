import { isDeepStrictEqual } from "node:util";

/** Pulumi's wire sentinel for a value not known until the resource is created. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** Key that marks a special object (secret, resource reference, asset) on the wire and in state. */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
export const RESOURCE_REF_SIG = "5cf8f73096256a8f31e491e813e4eb8e";

/** A JSON-shaped property map as it travels in a protobuf Struct. */
export type PropertyMap = Record<string, unknown>;

export function isSecret(v: unknown): v is { [SIG_KEY]: string; value: unknown } {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** True when v holds a secret anywhere. */
export function containsSecret(v: unknown): boolean {
  if (isSecret(v)) return true;
  if (Array.isArray(v)) return v.some(containsSecret);
  if (typeof v === "object" && v !== null) return Object.values(v).some(containsSecret);
  return false;
}

/** True when v holds an unknown anywhere. */
export function containsUnknown(v: unknown): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (typeof v === "object" && v !== null) return Object.values(v).some(containsUnknown);
  return false;
}

/**
 * Removes secret and resource-reference wrappers, because the dynamic provider accepts neither
 * (it answers Configure with acceptSecrets=false). Returns the top-level keys that held a secret
 * so the outputs can be marked again.
 */
export function unwrapForProvider(props: PropertyMap): { plain: PropertyMap; secretKeys: Set<string> } {
  const secretKeys = new Set<string>();
  const plain: PropertyMap = {};
  for (const [k, v] of Object.entries(props)) {
    const r = unwrapValue(v);
    if (r.secret) secretKeys.add(k);
    plain[k] = r.value;
  }
  return { plain, secretKeys };
}

function unwrapValue(v: unknown): { value: unknown; secret: boolean } {
  if (Array.isArray(v)) {
    let secret = false;
    const value = v.map((x) => {
      const r = unwrapValue(x);
      secret ||= r.secret;
      return r.value;
    });
    return { value, secret };
  }
  if (typeof v === "object" && v !== null) {
    const o = v as Record<string, unknown>;
    if (o[SIG_KEY] === SECRET_SIG) return { value: unwrapValue(o.value).value, secret: true };
    // Without resourceReferences the SDK sends plain ids; this only guards hand-written refs.
    if (o[SIG_KEY] === RESOURCE_REF_SIG) return { value: o.id ?? o.urn, secret: false };
    let secret = false;
    const value: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) {
      const r = unwrapValue(x);
      secret ||= r.secret;
      value[k] = r.value;
    }
    return { value, secret };
  }
  return { value: v, secret: false };
}

/** Wraps the given top-level keys of props as secrets (outputs of secret inputs stay secret). */
export function markSecrets(props: PropertyMap, keys: Iterable<string>): PropertyMap {
  const out: PropertyMap = { ...props };
  for (const k of keys) {
    if (k in out && !isSecret(out[k])) out[k] = { [SIG_KEY]: SECRET_SIG, value: out[k] };
  }
  return out;
}

/** Top-level keys whose values differ between olds and news (secrets compared by value). */
export function changedKeys(olds: PropertyMap, news: PropertyMap): string[] {
  const keys = new Set([...Object.keys(olds), ...Object.keys(news)]);
  const changed: string[] = [];
  for (const k of keys) {
    if (!isDeepStrictEqual(unwrapValue(olds[k]).value, unwrapValue(news[k]).value)) changed.push(k);
  }
  return changed.sort();
}

/** Value for display: secrets shown as [secret], unknowns as output<unknown>. */
export function displayValue(v: unknown): unknown {
  if (v === UNKNOWN) return "[unknown]";
  if (isSecret(v)) return "[secret]";
  if (Array.isArray(v)) return v.map(displayValue);
  if (typeof v === "object" && v !== null) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = displayValue(x);
    return o;
  }
  return v;
}

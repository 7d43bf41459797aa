import { LIVE_STATUS_KEY } from "../../providers/liveStatus";
import { OWNER_KEY } from "../../providers/ownerKey";
import type { PropertyChange } from "./events";
import { changedKeys, type PropertyMap } from "./propertyValues";

/** Protocol keys, never a change a person cares about: the provider's bookkeeping, its live status, the owner record. */
const HIDDEN_KEYS: ReadonlySet<string> = new Set(["__provider", LIVE_STATUS_KEY, OWNER_KEY]);

/** Changed top-level properties, old → new, limited to `keys` when given. */
export function propertyChanges(olds: PropertyMap, news: PropertyMap, keys?: ReadonlySet<string>): PropertyChange[] {
  return changedKeys(olds, news)
    .filter((k) => !HIDDEN_KEYS.has(k) && (keys === undefined || keys.has(k)))
    .map((key) => ({ key, old: olds[key], new: news[key] }));
}

/** The entries of `props` under `keys`. */
export function pick(props: PropertyMap, keys: Iterable<string>): PropertyMap {
  const out: PropertyMap = {};
  for (const k of keys) if (k in props) out[k] = props[k];
  return out;
}

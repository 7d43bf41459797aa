// Structural equality of property values as they travel over the wire (JSON-like), with absent,
// undefined and null treated alike: Pulumi's Struct drops undefined, so an old value read from
// state and a new one from the program must compare equal when neither is set.

/** True when a and b are the same property value. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === undefined || a === null) return b === undefined || b === null;
  if (b === undefined || b === null) return false;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (typeof a === "object") {
    if (typeof b !== "object" || Array.isArray(b)) return false;
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
    return [...keys].every((k) => sameValue(ao[k], bo[k]));
  }
  return a === b;
}

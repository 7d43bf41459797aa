// During preview, inputs that depend on resources not yet created arrive as Pulumi's "unknown"
// sentinel string; nothing can be validated or compared against them yet.

/** The wire value Pulumi sends for an output that is not known yet. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** True when value is, or contains, an unknown. */
export function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (typeof value === "object" && value !== null) return Object.values(value).some(containsUnknown);
  return false;
}

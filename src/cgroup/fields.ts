// Shape checks shared by the limit groups' validators and OCI mappings: an object with known keys,
// dotted field names, numbers. Every failure is a ValidationError naming the field.
import { ValidationError } from "../sys/errors";
import { describe } from "./units";

export type Fields = Record<string, unknown>;

/** "limits.memory" + "max" -> "limits.memory.max". */
export function fieldName(prefix: string, key: string): string {
  return prefix === "" ? key : `${prefix}.${key}`;
}

/** input as an object whose keys are all in allowed ("unknown <what> <key>" otherwise). */
export function checkKeys(input: unknown, field: string, allowed: readonly string[], what: string): Fields {
  if (typeof input !== "object" || input === null || Array.isArray(input)) throw new ValidationError(field === "" ? "limits" : field, `expected an object, got ${describe(input)}`);
  for (const key of Object.keys(input)) {
    if (!allowed.includes(key)) throw new ValidationError(fieldName(field, key), `unknown ${what} "${key}"`, `known: ${allowed.join(", ")}`);
  }
  return input as Fields;
}

/** An optional object field of an OCI document. */
export function ociObject(v: unknown, field: string): Fields | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) throw new ValidationError(field, "must be an object");
  return v as Fields;
}

/** An optional number field of an OCI document. */
export function ociNumber(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) throw new ValidationError(field, `${JSON.stringify(v)} is not a number`);
  return v;
}

/** OCI spells "no limit" -1. */
export function ociLimit(v: number | undefined): number | "max" | undefined {
  return v === -1 ? "max" : v;
}

/** Sets out[key] = value when value is defined (keeps optional fields absent, not undefined). */
export function setDefined<T extends object, K extends keyof T>(out: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) out[key] = value;
}

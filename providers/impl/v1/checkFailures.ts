// Turns validation errors into Pulumi check failures that name the property, so `hostform up`
// (and `pulumi up`) print "memory.max: ..." before anything on the host is touched.
import type * as pulumi from "@pulumi/pulumi";
import { HostformError, ValidationError } from "../../../src/sys/errors";

/** Runs each validation step and collects every failure instead of stopping at the first. */
export function collectFailures(steps: Array<() => void>): pulumi.dynamic.CheckFailure[] {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  for (const step of steps) {
    try {
      step();
    } catch (err) {
      failures.push(toCheckFailure(err));
    }
  }
  return failures;
}

/**
 * The failure for one error: a ValidationError's field, or the "field: ..." prefix other hostform
 * errors (UnsupportedError) put first. Anything else is a bug and is re-thrown. The reason leaves
 * the field out: every engine prints a failure as its property followed by its reason (hostform
 * "memory.max: unknown unit", Pulumi "property memory.max value ... has a problem: unknown unit").
 */
export function toCheckFailure(err: unknown): pulumi.dynamic.CheckFailure {
  if (err instanceof ValidationError) return { property: err.field, reason: withoutField(err.message, err.field) };
  if (err instanceof HostformError) {
    const property = /^([A-Za-z0-9_.[\]]+): /.exec(err.message)?.[1] ?? "";
    return { property, reason: withoutField(err.message, property) };
  }
  throw err;
}

/** A message that starts with "<field>: " without that prefix. */
function withoutField(message: string, field: string): string {
  const prefix = `${field}: `;
  return field !== "" && message.startsWith(prefix) ? message.slice(prefix.length) : message;
}

// Who made a host object: the stack (project/stack) and the resource (type and name) that own it.
// Every object hostform creates carries one (container state, cgroup xattr, namespace metadata), so
// that a create never takes over what another stack, another resource or another tool made.
import { HostformError, ValidationError } from "./errors";

/** The owner of a host object. */
export interface Owner {
  /** "<project>/<stack>". */
  stack: string;
  /** "<type>::<resource name>", e.g. "hostform:Container::web". */
  resource: string;
}

/** True when a and b are the same stack and resource. */
export function sameOwner(a: Owner | undefined, b: Owner | undefined): boolean {
  return a !== undefined && b !== undefined && a.stack === b.stack && a.resource === b.resource;
}

/** "resource hostform:Container::web of stack app/dev", for error messages. */
export function describeOwner(o: Owner): string {
  return `resource ${o.resource} of stack ${o.stack}`;
}

/** The owner as stored (one line of JSON, small enough for an xattr). */
export function formatOwner(o: Owner): string {
  return JSON.stringify({ stack: o.stack, resource: o.resource });
}

/** An Owner from untrusted data; undefined when it is not one. */
export function asOwner(v: unknown): Owner | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.stack !== "string" || typeof o.resource !== "string" || o.stack === "" || o.resource === "") return undefined;
  return { stack: o.stack, resource: o.resource };
}

/** Parses a stored owner; undefined for text that is not one (another tool's value). */
export function parseOwner(text: string): Owner | undefined {
  try {
    return asOwner(JSON.parse(text));
  } catch {
    // Not JSON: not a record hostform wrote, so the object has no owner hostform knows.
    return undefined;
  }
}

/**
 * A create met an object of that name that `wanted` does not own: another stack's or resource's
 * (recorded), or one hostform did not make (no record).
 */
export class OwnedElsewhereError extends HostformError {
  constructor(
    readonly kind: string,
    readonly id: string,
    readonly recorded: Owner | undefined,
  ) {
    const whose = recorded !== undefined ? `belongs to ${describeOwner(recorded)}` : "was not made by hostform (no owner record; e.g. started by hostform-runtime or another tool)";
    const destroy = recorded !== undefined ? `destroy ${recorded.resource} in stack ${recorded.stack} first` : `remove it first`;
    super(`${kind} ${id} already exists and ${whose}: choose another name, or ${destroy}, or adopt it with the import resource option ({ import: "${id}" })`);
  }
}

/** Refuses (OwnedElsewhereError) unless the existing object's record names `wanted`. */
export function mustOwn(kind: string, id: string, recorded: Owner | undefined, wanted: Owner | undefined): void {
  if (wanted === undefined) throw new ValidationError("__owner", `no owner given for ${kind} ${id}`, "create hostform resources through the classes in hostform/providers");
  if (!sameOwner(recorded, wanted)) throw new OwnedElsewhereError(kind, id, recorded);
}

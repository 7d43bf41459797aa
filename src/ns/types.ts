// Namespace types as users declare them: validation of a declared list, and /proc paths. The types
// and their flags come from the one table in src/sys/namespaces.
import { ValidationError } from "../sys/errors";
import { NAMESPACE_TYPES, isNamespaceType, type NamespaceType } from "../sys/namespaces";

export { NAMESPACE_TYPES, cloneFlags, isNamespaceType, type NamespaceType } from "../sys/namespaces";

/**
 * Path of a process's (or, with tid, one thread's) namespace file of the given type.
 * For pid, this is the namespace the process itself is in, not pid_for_children.
 */
export function procNsPath(type: NamespaceType, pid: number, tid?: number): string {
  return tid === undefined ? `/proc/${pid}/ns/${type}` : `/proc/${pid}/task/${tid}/ns/${type}`;
}

/** The types in canonical order. */
export function sortNamespaceTypes(types: readonly NamespaceType[]): NamespaceType[] {
  return NAMESPACE_TYPES.filter((t) => types.includes(t));
}

const hint = `use one of ${NAMESPACE_TYPES.join(", ")}`;

/**
 * Checks a user-supplied list of namespace types and returns it in canonical order.
 * Throws ValidationError naming the offending element (`types[1]`) or the list (`types`).
 */
export function validateNamespaceTypes(value: unknown, field = "types"): NamespaceType[] {
  if (!Array.isArray(value)) {
    throw new ValidationError(field, `expected a list of namespace types, got ${describe(value)}`, hint);
  }
  if (value.length === 0) {
    throw new ValidationError(field, "must list at least one namespace type", hint);
  }
  const seen = new Map<NamespaceType, number>();
  value.forEach((item: unknown, i) => {
    const at = `${field}[${i}]`;
    if (!isNamespaceType(item)) {
      const what = typeof item === "string" ? `unknown namespace type ${JSON.stringify(item)}` : `expected a namespace type, got ${describe(item)}`;
      throw new ValidationError(at, what, hint);
    }
    const first = seen.get(item);
    if (first !== undefined) {
      throw new ValidationError(at, `duplicate namespace type "${item}" (already at ${field}[${first}])`, "list each type once");
    }
    seen.set(item, i);
  });
  return sortNamespaceTypes([...seen.keys()]);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "string" ? JSON.stringify(value) : typeof value;
}

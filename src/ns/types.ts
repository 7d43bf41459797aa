// The namespace types hostform can create and pin, with the numbers the kernel knows them by.
// user is left out on purpose: unshare(CLONE_NEWUSER) fails with EINVAL in any multi-threaded
// process, Node included. time is left out until something needs it.
import { ValidationError } from "../sys/errors";
import { CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS } from "../sys/constants";

/** Namespace types in canonical order (the order every returned list uses). */
export const NAMESPACE_TYPES = ["net", "uts", "ipc", "mnt", "pid", "cgroup"] as const;

/** A namespace type hostform supports; the same word names its file in /proc/<pid>/ns/. */
export type NamespaceType = (typeof NAMESPACE_TYPES)[number];

/** unshare(2)/setns(2) flag of each type. */
export const CLONE_FLAGS: Readonly<Record<NamespaceType, number>> = {
  net: CLONE_NEWNET,
  uts: CLONE_NEWUTS,
  ipc: CLONE_NEWIPC,
  mnt: CLONE_NEWNS,
  pid: CLONE_NEWPID,
  cgroup: CLONE_NEWCGROUP,
};

/** True when value is one of NAMESPACE_TYPES. */
export function isNamespaceType(value: unknown): value is NamespaceType {
  return typeof value === "string" && (NAMESPACE_TYPES as readonly string[]).includes(value);
}

/** OR of the CLONE_NEW* flags of types. */
export function cloneFlags(types: readonly NamespaceType[]): number {
  let flags = 0;
  for (const t of types) flags |= CLONE_FLAGS[t];
  return flags;
}

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

// The one namespace table: each type hostform supports, the word /proc/<pid>/ns and hostform's
// resources use for it, the word the OCI runtime spec uses, and its unshare/setns flag. Every
// other map between these is derived from this list.
// user is here for its words and flag, but no Node thread makes or joins one: unshare(CLONE_NEWUSER)
// and setns into a user namespace fail with EINVAL in any multi-threaded process, so nsspawn
// (src/native/nsspawn.c) does. time is left out until something needs it.
import { CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER, CLONE_NEWUTS } from "./constants";

/** In canonical order: the order every returned list of namespace types uses. */
export const NAMESPACES = [
  { type: "net", oci: "network", flag: CLONE_NEWNET },
  { type: "uts", oci: "uts", flag: CLONE_NEWUTS },
  { type: "ipc", oci: "ipc", flag: CLONE_NEWIPC },
  { type: "mnt", oci: "mount", flag: CLONE_NEWNS },
  { type: "pid", oci: "pid", flag: CLONE_NEWPID },
  { type: "cgroup", oci: "cgroup", flag: CLONE_NEWCGROUP },
  { type: "user", oci: "user", flag: CLONE_NEWUSER },
] as const;

/** A namespace type as /proc/<pid>/ns/ names it ("net", "mnt"): hostform's own word. */
export type NamespaceType = (typeof NAMESPACES)[number]["type"];
/** The same type as the OCI runtime spec's linux.namespaces[].type names it ("network", "mount"). */
export type OciNamespaceType = (typeof NAMESPACES)[number]["oci"];

export const NAMESPACE_TYPES: readonly NamespaceType[] = NAMESPACES.map((n) => n.type);
export const OCI_NAMESPACE_TYPES: readonly OciNamespaceType[] = NAMESPACES.map((n) => n.oci);

const byType = new Map<string, (typeof NAMESPACES)[number]>(NAMESPACES.map((n) => [n.type, n]));
const byOci = new Map<string, (typeof NAMESPACES)[number]>(NAMESPACES.map((n) => [n.oci, n]));

export function isNamespaceType(value: unknown): value is NamespaceType {
  return typeof value === "string" && byType.has(value);
}

export function isOciNamespaceType(value: unknown): value is OciNamespaceType {
  return typeof value === "string" && byOci.has(value);
}

/** unshare(2)/setns(2) flag of a type, in either spelling. */
export function cloneFlag(type: NamespaceType | OciNamespaceType): number {
  const entry = byType.get(type) ?? byOci.get(type);
  if (entry === undefined) throw new TypeError(`not a namespace type: ${type}`);
  return entry.flag;
}

/** OR of the flags of types. */
export function cloneFlags(types: Iterable<NamespaceType | OciNamespaceType>): number {
  let flags = 0;
  for (const t of types) flags |= cloneFlag(t);
  return flags;
}

export function ociNamespaceType(type: NamespaceType): OciNamespaceType {
  return (byType.get(type) ?? NAMESPACES[0]).oci;
}

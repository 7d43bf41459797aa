// What the host says about a running container's PID 1: its namespaces and its seccomp mode.
// Each read tolerates the process dying under it (the answer is then "not running", never an error).
import { readFileSync, statSync } from "node:fs";
import { NAMESPACE_TYPES, type NamespaceType } from "../../../src/ns/types";
import { readSeccompStatus } from "../../../src/seccomp/inspect";
import { SysError, hasCode } from "../../../src/sys/errors";
import { parseIdMap, type IdMapping } from "../../../src/ns/idMapping";

function gone(err: unknown): boolean {
  return hasCode(err, "ENOENT") || hasCode(err, "ESRCH");
}

/** nsfs inode of each namespace of pid; undefined when the process is gone. */
export function namespaceInodes(pid: number): Partial<Record<NamespaceType, number>> | undefined {
  const out: Partial<Record<NamespaceType, number>> = {};
  for (const type of NAMESPACE_TYPES) {
    try {
      out[type] = statSync(`/proc/${pid}/ns/${type}`).ino;
    } catch (err) {
      if (gone(err)) return undefined;
      throw SysError.fromNode(err, `read namespace ${type} of pid ${pid}`);
    }
  }
  return out;
}

/**
 * The uid and gid mappings of pid's user namespace; null when it is the host's (the whole id range
 * mapped to itself), undefined when the process is gone.
 */
export function idMappingsOf(pid: number): { uid: IdMapping[]; gid: IdMapping[] } | null | undefined {
  try {
    const uid = parseIdMap(readFileSync(`/proc/${pid}/uid_map`, "utf8"));
    const gid = parseIdMap(readFileSync(`/proc/${pid}/gid_map`, "utf8"));
    const identity = (m: IdMapping[]): boolean => m.length === 1 && m[0]!.containerID === 0 && m[0]!.hostID === 0 && m[0]!.size === 4294967295;
    return identity(uid) && identity(gid) ? null : { uid, gid };
  } catch (err) {
    if (gone(err)) return undefined;
    throw SysError.fromNode(err, `read the id mappings of pid ${pid}`);
  }
}

/** Seccomp mode of pid ("disabled", "strict", "filter"); undefined when the process is gone. */
export function seccompModeOf(pid: number): string | undefined {
  try {
    return readSeccompStatus(pid).mode;
  } catch (err) {
    if (gone(err)) return undefined;
    throw err;
  }
}

/** True when every namespace the container joins has the inode the Namespace resource reported. */
export function joinedNamespacesMatch(live: Partial<Record<NamespaceType, number>>, joined: Partial<Record<NamespaceType, number>> | undefined, types: readonly string[]): boolean {
  for (const type of types) {
    const want = joined?.[type as NamespaceType];
    if (want !== undefined && live[type as NamespaceType] !== want) return false;
  }
  return true;
}

// linux.uidMappings and linux.gidMappings, and the user namespace they belong to: which ids of the
// host the container's ids are (the mappings themselves: src/ns/idMapping.ts).
import { ValidationError } from "../sys/errors";
import { validateIdMappings, type IdMapping } from "../ns/idMapping";

export { hostIdOf, idMapText, parseIdMap, validateIdMappings, type IdMapping } from "../ns/idMapping";

/** The user namespace a spec asks for: a new one with its mappings, or an existing one by path. */
export type UserNamespacePlan = { kind: "new"; uidMappings: IdMapping[]; gidMappings: IdMapping[] } | { kind: "join"; path: string };

/**
 * Checks a linux section's user namespace fields together: mappings need a new user namespace
 * and a new one needs both (runc: "user namespaces enabled, but no uid mappings found"); a joined
 * one keeps the mappings it has.
 */
export function userNamespacePlan(userNs: { path?: string } | undefined, uidMappings: unknown, gidMappings: unknown): UserNamespacePlan | undefined {
  const given = uidMappings !== undefined || gidMappings !== undefined;
  if (userNs === undefined) {
    if (given) throw new ValidationError(uidMappings !== undefined ? "linux.uidMappings" : "linux.gidMappings", "needs a user namespace to map ids in", '{"type": "user"} in linux.namespaces, or remove the mappings');
    return undefined;
  }
  if (userNs.path !== undefined) {
    if (given) throw new ValidationError(uidMappings !== undefined ? "linux.uidMappings" : "linux.gidMappings", "cannot change the mappings of a joined user namespace", "remove the mappings, or remove the user namespace's path to make a new one");
    return { kind: "join", path: userNs.path };
  }
  if (uidMappings === undefined) throw new ValidationError("linux.uidMappings", "is required for a new user namespace", 'map the container\'s root, e.g. [{"containerID": 0, "hostID": 100000, "size": 65536}]');
  if (gidMappings === undefined) throw new ValidationError("linux.gidMappings", "is required for a new user namespace", 'e.g. [{"containerID": 0, "hostID": 100000, "size": 65536}]');
  return { kind: "new", uidMappings: validateIdMappings(uidMappings, "linux.uidMappings"), gidMappings: validateIdMappings(gidMappings, "linux.gidMappings") };
}

// The holder of a namespace set with a user namespace: `sleep infinity`, cloned by nsspawn into a
// new user namespace (mapped by this process, root outside) and the set's other new namespaces,
// made after it and so owned by it. Node cannot make a user namespace (see nsspawn.c), so the
// unshare worker cannot be used for these sets.
import { CLONE_NEWUSER } from "../sys/constants";
import { holderSpawn } from "./holder";
import type { IdMapping } from "./idMapping";
import { runNsspawnUserNamespace } from "./nsspawnUserNamespace";

/** A set's id mappings: its user namespace's uid_map and gid_map. */
export interface SetIdMappings {
  uid: IdMapping[];
  gid: IdMapping[];
}

/**
 * Spawns the holder in a new user namespace with `mappings` and new namespaces of `flags` (the
 * set's other types; not mnt). Resolves with its pid once it runs; nothing is left on failure.
 */
export function spawnUserNamespaceHolder(mappings: SetIdMappings, flags: number): Promise<number> {
  const sleep = holderSpawn();
  const others = flags & ~CLONE_NEWUSER;
  return runNsspawnUserNamespace({
    // -c: the holder does not keep the sync socket.
    args: ["-c", ...(others !== 0 ? ["-n", others.toString(16)] : []), "--", sleep.command, ...(sleep.args ?? [])],
    mappings,
    context: "make the namespace set's user namespace",
    stdio: ["ignore", "ignore", "ignore"],
    detached: true,
  });
}

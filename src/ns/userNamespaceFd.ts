// A user namespace with a given mapping, held only by an fd: what an ID-mapped mount is made with
// (mount_setattr MOUNT_ATTR_IDMAP takes the namespace whose mapping to apply). nsspawn unshares it
// and waits for its maps; once they are written and the namespace is open here, the helper is let
// go (EOF) and exits without running anything. The fd keeps the namespace alive.
import * as libc from "../sys/libc";
import type { IdMapping } from "./idMapping";
import { runNsspawnUserNamespace } from "./nsspawnUserNamespace";

/** Opens a new user namespace with these mappings (close the fd when done). */
export function openUserNamespace(uidMappings: readonly IdMapping[], gidMappings: readonly IdMapping[]): Promise<number> {
  return runNsspawnUserNamespace({
    args: ["--", "/bin/true"],
    mappings: { uid: uidMappings, gid: gidMappings },
    context: "make a user namespace for an ID-mapped mount",
    stdio: ["ignore", "ignore", "inherit"],
    onMapped: (helperPid) => libc.openReadOnly(`/proc/${helperPid}/ns/user`),
  });
}

// The holder of a namespace set with a user namespace: `sleep infinity`, cloned by nsspawn into a
// new user namespace (mapped by this process, root outside) and the set's other new namespaces,
// made after it and so owned by it. Node cannot make a user namespace (see nsspawn.c), so the
// unshare worker cannot be used for these sets.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import type { Socket } from "node:net";
import { HostformError, SysError } from "../sys/errors";
import { CLONE_NEWUSER } from "../sys/constants";
import { holderSpawn } from "./holder";
import { idMapText, type IdMapping } from "./idMapping";
import { NSSPAWN_PATH } from "./nsspawnPath";
import { nsspawnLines } from "./nsspawnLines";

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
  // -c: the holder does not keep the sync socket.
  const args = ["-s", "3", "-c", "-u", ...(others !== 0 ? ["-n", others.toString(16)] : []), "--", sleep.command, ...(sleep.args ?? [])];
  return new Promise((resolve, reject) => {
    const helper = spawn(NSSPAWN_PATH, args, { cwd: "/", env: {}, detached: true, stdio: ["ignore", "ignore", "ignore", "pipe"] });
    const sock = helper.stdio[3] as Socket;
    let settled = false;
    const done = (err: unknown, pid?: number): void => {
      if (settled) return;
      settled = true;
      sock.destroy();
      if (err !== undefined) {
        helper.kill("SIGKILL");
        reject(err);
      } else resolve(pid!);
    };
    helper.once("error", (err) => done(SysError.fromNode(err, `spawn ${NSSPAWN_PATH}`)));
    let exit = "";
    helper.once("exit", (code, signal) => (exit = ` (code ${code}, signal ${signal})`));
    // Judged when the socket closes, not at the exit: "spawned" may still be on its way then.
    sock.once("close", () => done(new HostformError(`nsspawn ended before the holder ran${exit}`)));
    nsspawnLines(sock, (line) => {
      if (line.kind === "error") return done(new SysError(line.syscall ?? "nsspawn", line.errno ?? 0, undefined, "make the namespace set's user namespace"));
      if (line.kind === "spawned" && typeof line.pid === "number") return done(undefined, line.pid);
      if (line.kind !== "userns" || helper.pid === undefined) return;
      try {
        writeFileSync(`/proc/${helper.pid}/uid_map`, idMapText(mappings.uid));
        writeFileSync(`/proc/${helper.pid}/gid_map`, idMapText(mappings.gid));
      } catch (err) {
        return done(SysError.fromNode(err, "map the namespace set's user namespace"));
      }
      sock.write("\n");
    });
  });
}

// A user namespace with a given mapping, held only by an fd: what an ID-mapped mount is made with
// (mount_setattr MOUNT_ATTR_IDMAP takes the namespace whose mapping to apply). nsspawn unshares it
// and waits for its maps; once they are written and the namespace is open here, the helper is let
// go (EOF) and exits without running anything. The fd keeps the namespace alive.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import type { Socket } from "node:net";
import * as libc from "../sys/libc";
import { HostformError, SysError } from "../sys/errors";
import { NSSPAWN_PATH } from "./nsspawnPath";
import { idMapText, type IdMapping } from "./idMapping";
import { nsspawnLines } from "./nsspawnLines";

/** Opens a new user namespace with these mappings (close the fd when done). */
export function openUserNamespace(uidMappings: readonly IdMapping[], gidMappings: readonly IdMapping[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const helper = spawn(NSSPAWN_PATH, ["-s", "3", "-u", "--", "/bin/true"], { stdio: ["ignore", "ignore", "inherit", "pipe"] });
    const sock = helper.stdio[3] as Socket;
    let settled = false;
    const done = (err: unknown, fd?: number): void => {
      if (settled) return;
      settled = true;
      // EOF: the helper stops waiting and exits; libuv reaps it.
      sock.destroy();
      if (err !== undefined) reject(err);
      else resolve(fd!);
    };
    helper.once("error", (err) => done(SysError.fromNode(err, `spawn ${NSSPAWN_PATH}`)));
    let exit = "";
    helper.once("exit", (code, signal) => (exit = ` (code ${code}, signal ${signal})`));
    // Judged when the socket closes: a line may still be on its way at the exit.
    sock.once("close", () => done(new HostformError(`nsspawn ended before its user namespace was made${exit}`)));
    nsspawnLines(sock, (line) => {
      if (line.kind === "error") return done(new SysError(line.syscall ?? "nsspawn", line.errno ?? 0, undefined, "make a user namespace for an ID-mapped mount"));
      if (line.kind !== "userns" || helper.pid === undefined) return;
      try {
        writeFileSync(`/proc/${helper.pid}/uid_map`, idMapText(uidMappings));
        writeFileSync(`/proc/${helper.pid}/gid_map`, idMapText(gidMappings));
        done(undefined, libc.openReadOnly(`/proc/${helper.pid}/ns/user`));
      } catch (err) {
        done(SysError.fromNode(err, "map the user namespace for an ID-mapped mount"));
      }
    });
  });
}

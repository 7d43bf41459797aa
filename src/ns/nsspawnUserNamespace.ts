// nsspawn asked for a new user namespace with given mappings, from the ns layer (the runtime's
// launcher drives it on an init's own socket instead, src/runtime/nsspawn.ts). Two ends: stop once
// the namespace is mapped (userNamespaceFd.ts keeps an fd of it), or let the helper clone its
// program there (userHolder.ts). Either way the helper's failure is judged when its socket closes,
// not at its exit, which can come before its last line is read; nothing of it is left on failure.
import { spawn } from "node:child_process";
import type { Socket } from "node:net";
import { HostformError, SysError } from "../sys/errors";
import { idMapText, type IdMapping } from "./idMapping";
import { NSSPAWN_PATH } from "./nsspawnPath";
import { nsspawnError, nsspawnLines, writeIdMaps } from "./nsspawnLines";

/** A user namespace's mappings: its uid_map and gid_map. */
export interface IdMappings {
  uid: readonly IdMapping[];
  gid: readonly IdMapping[];
}

type HelperStdio = "ignore" | "inherit";

export interface NsspawnRun<T> {
  /** nsspawn's options after -s 3 -u, with "--" and the program. */
  args: string[];
  mappings: IdMappings;
  /** What the run is for, in its errors ("make the namespace set's user namespace"). */
  context: string;
  /** How to spawn the helper (fd 3 is added as its sync socket). */
  stdio: [HelperStdio, HelperStdio, HelperStdio];
  detached?: boolean;
  /**
   * Called with the helper's pid once the namespace is mapped, while the helper still waits in it:
   * its result settles the run and the helper is let go without running its program. Without it,
   * the helper goes on and the run settles with the pid of the program it clones.
   */
  onMapped?: (helperPid: number) => T;
}

/** Runs nsspawn -s 3 -u `args` (see NsspawnRun); resolves with onMapped's result or the program's pid. */
export function runNsspawnUserNamespace<T = number>(run: NsspawnRun<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const helper = spawn(NSSPAWN_PATH, ["-s", "3", "-u", ...run.args], { cwd: "/", env: {}, detached: run.detached === true, stdio: [...run.stdio, "pipe"] });
    const sock = helper.stdio[3] as Socket;
    let settled = false;
    const done = (err: unknown, value?: T): void => {
      if (settled) return;
      settled = true;
      // EOF: a helper still waiting for its answer exits.
      sock.destroy();
      if (err === undefined) return resolve(value!);
      helper.kill("SIGKILL");
      reject(err);
    };
    helper.once("error", (err) => done(SysError.fromNode(err, `spawn ${NSSPAWN_PATH}`)));
    let exit = "";
    helper.once("exit", (code, signal) => (exit = ` (code ${code}, signal ${signal})`));
    sock.once("close", () => done(new HostformError(`${run.context}: nsspawn ended first${exit}`)));
    nsspawnLines(sock, (line) => {
      if (line.kind === "error") return done(nsspawnError(line, run.context));
      if (line.kind === "spawned" && typeof line.pid === "number") return done(undefined, line.pid as T);
      if (line.kind !== "userns" || helper.pid === undefined) return;
      try {
        writeIdMaps(helper.pid, idMapText(run.mappings.uid), idMapText(run.mappings.gid));
        if (run.onMapped !== undefined) return done(undefined, run.onMapped(helper.pid));
      } catch (err) {
        return done(SysError.fromNode(err, run.context));
      }
      sock.write("\n");
    });
  });
}

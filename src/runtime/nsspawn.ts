// Spawning an init through nsspawn (src/native/nsspawn.c), for a container with a user namespace:
// a Node process cannot make or join one, so the C helper does it and clones the init as this
// process's child (CLONE_PARENT). Runs in a spawn worker. The helper talks on the init's own
// socket (fd 3) until it hands over: "userns" (write the maps, then answer), then "spawned" with
// the init's pid, or "error". From "spawned" on the socket is the init's, relayed as any init's;
// its exit is not the helper's, so the launcher's main thread watches it (src/sys/adoptedChild.ts).
import { spawn } from "node:child_process";
import type { Socket } from "node:net";
import { CLONE_NEWNS } from "../sys/constants";
import { HostformError, SysError, errorToWire } from "../sys/errors";
import { LineDecoder, type InitMessage } from "./initProtocol";
import { NSSPAWN_PATH } from "../ns/nsspawnPath";
import { nsspawnError, writeIdMaps } from "../ns/nsspawnLines";
import type { WireError } from "../sys/errors";
import type { InitRelayEvent } from "./initRelay";

/** What a spawn through nsspawn reports: the relay's events, or the spawn's failure. */
export type NsspawnEvent = InitRelayEvent | { op: "spawnFailed"; id: number; message: string; error: WireError };

export { NSSPAWN_PATH };

/** What the helper does before it clones the init: the spawn request's part for a user namespace. */
export interface NsspawnPlan {
  /** Launcher fds of namespaces to join first, in this order, with their CLONE_NEW* flags. */
  joins: Array<{ flags: number; fd: number }>;
  /** A new user namespace and the /proc/<pid>/uid_map and gid_map text it gets. */
  newUser?: { uidMap: string; gidMap: string };
  /** Namespaces to unshare after the user step (owned by the user namespace); never the mount one. */
  unshare: number;
  /** A launcher fd: the init's end of its fd channel, its fd 4 (INIT_LAUNCHER_PIDFD's place). */
  channelFd: number;
}

/** The helper's command line; the fds it is given are 5, 6, ... in the order of plan.joins. */
export function nsspawnArgs(plan: NsspawnPlan, program: string, args: readonly string[]): string[] {
  const out = ["-s", "3"];
  plan.joins.forEach((j, i) => out.push("-j", `${j.flags.toString(16)}:${5 + i}`));
  if (plan.newUser !== undefined) out.push("-u");
  const unshare = plan.unshare & ~CLONE_NEWNS;
  if (unshare !== 0) out.push("-n", unshare.toString(16));
  return [...out, "--", program, ...args];
}

/** An init on its way through the helper: its socket, and a kill for the helper until it has handed over. */
export interface NsspawnedInit {
  socket: Socket;
  kill(signal: NodeJS.Signals): void;
}

/**
 * Spawns the init through the helper, registers it under `id` in `inits` until its socket closes
 * or the spawn fails (as relayInit registers a libuv child), and relays it through post: "spawned"
 * (with adopted: the main thread reaps it), its messages and its socket's end; never its exit.
 */
export function spawnThroughNsspawn(
  id: number,
  plan: NsspawnPlan,
  program: string,
  args: readonly string[],
  inits: Map<number, NsspawnedInit>,
  post: (ev: NsspawnEvent) => void,
): void {
  const helper = spawn(NSSPAWN_PATH, nsspawnArgs(plan, program, args), {
    stdio: ["ignore", "ignore", "inherit", "pipe", plan.channelFd, ...plan.joins.map((j) => j.fd)],
  });
  let handedOver = false;
  let failed = false;
  const fail = (err: unknown): void => {
    if (failed || handedOver) return;
    failed = true;
    inits.delete(id);
    const error = err instanceof Error ? err : new HostformError(String(err));
    post({ op: "spawnFailed", id, message: error.message, error: errorToWire(error) });
    helper.kill("SIGKILL");
  };
  helper.once("error", (err) => fail(SysError.fromNode(err, `spawn ${NSSPAWN_PATH}`)));
  const sock = helper.stdio[3] as Socket;
  const decoder = new LineDecoder();
  sock.setEncoding("utf8");
  sock.on("data", (chunk: string) => {
    let lines: unknown[];
    try {
      lines = decoder.push(chunk);
    } catch (err) {
      fail(new HostformError(`nsspawn: unreadable message: ${(err as Error).message}`));
      return;
    }
    for (const line of lines) {
      if (handedOver) {
        post({ op: "message", id, message: line as InitMessage });
        continue;
      }
      const m = line as { kind?: unknown; pid?: unknown; syscall?: unknown; errno?: unknown; message?: unknown };
      if (m.kind === "userns" && plan.newUser !== undefined && helper.pid !== undefined) {
        try {
          writeIdMaps(helper.pid, plan.newUser.uidMap, plan.newUser.gidMap);
        } catch (err) {
          fail(SysError.fromNode(err, "write the user namespace's id maps"));
          return;
        }
        sock.write("\n");
      } else if (m.kind === "spawned" && typeof m.pid === "number") {
        handedOver = true;
        post({ op: "spawned", id, pid: m.pid, adopted: true });
      } else if (m.kind === "error") {
        fail(nsspawnError(m, "nsspawn"));
      } else {
        fail(new HostformError(`nsspawn: unexpected message ${JSON.stringify(line)}`));
      }
    }
  });
  sock.on("end", () => {
    if (handedOver) post({ op: "eof", id });
  });
  sock.on("error", () => undefined);
  let exit = "";
  helper.on("exit", (code, signal) => (exit = ` (code ${code}, signal ${signal})`));
  // Judged when the socket closes, not at the helper's exit: its "spawned" may still be on the way
  // then. Before the hand-over only the helper holds the other end.
  sock.on("close", () => {
    if (!handedOver) fail(new HostformError(`nsspawn ended before it started the init${exit}`));
    // Its socket is all there was to do here: the init has exec'd or exited.
    inits.delete(id);
  });
  inits.set(id, {
    socket: sock,
    kill: (signal) => {
      if (!handedOver) helper.kill(signal);
    },
  });
}

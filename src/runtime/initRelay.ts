// Both spawn workers (containers: spawnWorker.ts; exec: execWorker.ts) report an init they started
// the same way: its pid, each line it writes on its socket, the socket's end, and its exit.
import type { ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
import { LineDecoder, type InitMessage } from "./initProtocol";

/** The events a worker sends about a spawned init, from "spawned" on. */
export type InitRelayEvent =
  /** adopted: cloned by nsspawn, not libuv's child: no "exit" follows, the launcher reaps it. */
  | { op: "spawned"; id: number; pid: number; adopted?: true }
  | { op: "message"; id: number; message: InitMessage }
  | { op: "eof"; id: number }
  | { op: "exit"; id: number; code: number | null; signal: NodeJS.Signals | null };

/**
 * Registers a spawned init (fd 3 is its socket) under id, and relays its messages, the end of its
 * socket and its exit through post until it exits.
 */
export function relayInit(id: number, child: ChildProcess, pid: number, children: Map<number, ChildProcess>, post: (ev: InitRelayEvent) => void): void {
  children.set(id, child);
  post({ op: "spawned", id, pid });
  const sock = child.stdio[3] as Socket;
  const decoder = new LineDecoder();
  sock.setEncoding("utf8");
  sock.on("data", (chunk: string) => {
    for (const message of decoder.push(chunk)) post({ op: "message", id, message: message as InitMessage });
  });
  sock.on("end", () => post({ op: "eof", id }));
  // EPIPE/ECONNRESET when the init dies with a request in flight: its "exit" event, which always
  // follows, is what reports the outcome; unhandled, the error would kill the worker instead.
  sock.on("error", () => undefined);
  child.on("exit", (code, signal) => {
    children.delete(id);
    post({ op: "exit", id, code, signal });
  });
}

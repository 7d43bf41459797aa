// The user's side of `exec -t`: bytes between the user's terminal (in raw mode, so keys such as
// ^C reach the program's line discipline instead of killing hostform) and the pty master, and the
// window size carried over on start and on every SIGWINCH.
import { ReadStream } from "node:tty";
import type { Readable, Writable } from "node:stream";
import { hasCode } from "../sys/errors";
import { setWindowSize } from "../sys/terminal";

/** The user's terminal: typically process.stdin (absent: nothing is typed in) and process.stdout. */
export interface RelayEnds {
  input?: Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  output: Writable & { isTTY?: boolean; columns?: number; rows?: number };
}

/** A running relay. */
export interface TerminalRelay {
  /** Settles when the master reports the hangup (every slave fd closed) or stop() was called. */
  done: Promise<void>;
  /** Ends the relay: restores the user's terminal and closes the master. */
  stop(): void;
}

/**
 * Relays between `ends` and the pty master, which the relay now owns (it closes it when done).
 * The user's terminal is put in raw mode if it is one, and restored when the relay ends.
 */
export function relayTerminal(master: number, ends: RelayEnds): TerminalRelay {
  // A libuv tty handle on the master reads without blocking a thread-pool thread; made writable
  // so one handle serves both directions.
  const pty = new ReadStream(master, { writable: true });
  const { input, output } = ends;
  const raw = input?.isTTY === true && typeof input.setRawMode === "function";
  if (raw) input!.setRawMode!(true);
  const resize = (): void => {
    if (output.columns !== undefined && output.rows !== undefined) setWindowSize(master, { rows: output.rows, cols: output.columns });
  };
  if (output.isTTY === true) {
    resize();
    output.on("resize", resize);
  }
  const onInput = (chunk: Buffer | string): void => void pty.write(chunk);
  input?.on("data", onInput);
  input?.resume();
  pty.on("data", (chunk: Buffer) => output.write(chunk));

  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    input?.off("data", onInput);
    input?.pause();
    output.off("resize", resize);
    if (raw) input!.setRawMode!(false);
    pty.destroy();
    finish();
  };
  // EIO is how a master says that the last slave fd was closed: the normal end.
  pty.on("error", (err) => {
    if (!hasCode(err, "EIO")) output.write(`\r\nhostform: terminal relay: ${err.message}\r\n`);
    stop();
  });
  pty.on("end", stop);
  pty.on("close", stop);
  return { done, stop };
}

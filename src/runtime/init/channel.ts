// The init's end of the launcher socket (fd 3): one JSON message per line (initProtocol.ts).
import { readSync, writeSync } from "node:fs";
import { INIT_SOCKET_FD, type InitMessage, type InitRequest } from "../initProtocol";

export function send(msg: InitMessage): void {
  writeSync(INIT_SOCKET_FD, `${JSON.stringify(msg)}\n`);
}

/** Blocks for the first request; undefined on EOF (the launcher went away before using this init). */
export function readRequest(): InitRequest | undefined {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    const n = readSync(INIT_SOCKET_FD, buf, 0, buf.length, null);
    if (n === 0) return undefined;
    chunks.push(Buffer.from(buf.subarray(0, n)));
    if (buf[n - 1] === 0x0a) break;
  }
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as InitRequest;
}

/**
 * Blocks for the launcher's next line; whether it holds `word`. False on EOF (the container was
 * aborted or its launcher died). One small read into a buffer allocated before: the waiting init
 * may already be under the container's seccomp filter (without no_new_privs), so it makes as few
 * syscalls as it can.
 */
function nextLineSays(word: string): boolean {
  const buf = Buffer.alloc(64);
  let line = "";
  for (;;) {
    const n = readSync(INIT_SOCKET_FD, buf, 0, buf.length, null);
    if (n === 0) return false;
    line += buf.toString("latin1", 0, n);
    if (line.endsWith("\n")) return line.includes(`"${word}"`);
  }
}

/** Blocks until the launcher says "continue" (after its runtime hooks); false on EOF or anything else. */
export function waitForContinue(): boolean {
  return nextLineSays("continue");
}

/** Blocks until the launcher says "start"; false on EOF (the container was aborted or its launcher died). */
export function waitForStart(): boolean {
  return nextLineSays("start");
}

/**
 * Blocks until `start` writes to the exec fifo (hostform-runtime); false if it never can (the fifo
 * was closed). The init holds the fifo read-write, so it never sees EOF while it waits.
 */
export function waitForFifo(fd: number): boolean {
  const buf = Buffer.alloc(1);
  return readSync(fd, buf, 0, 1, null) === 1;
}

// Exclusive locks on lock files with flock(2): the kernel drops the lock when its holder dies, so
// there is no stale lock to detect or break (a pid written in the file would be). The file stays; it
// is the lock's name, not its state. Waiting polls with LOCK_NB: a blocking flock would stall
// Node's event loop (async variant) or could not be given a deadline (sync variant).
// Node opens every file with O_CLOEXEC: children do not inherit (and so never hold) the lock.
import { closeSync, mkdirSync, openSync, constants as fs } from "node:fs";
import { dirname } from "node:path";
import { SysError, TimeoutError } from "./errors";
import { tryFlock } from "./libc";

const LOCK_EX = 2;

function openLockFile(path: string, what: string): number {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    return openSync(path, fs.O_RDWR | fs.O_CREAT | fs.O_NOFOLLOW, 0o600);
  } catch (err) {
    throw SysError.fromNode(err, `${what}: open the lock ${path}`);
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs fn holding the lock at `path`; waits for another holder at most timeoutMs (synchronously: for short critical sections). */
export function withFileLockSync<T>(path: string, what: string, timeoutMs: number, fn: () => T): T {
  const fd = openLockFile(path, what);
  try {
    const deadline = Date.now() + timeoutMs;
    while (!tryFlock(fd, LOCK_EX, path)) {
      if (Date.now() >= deadline) throw new TimeoutError(`${what}: take the lock ${path}`, timeoutMs, "another hostform process holds it (`fuser` names it)");
      sleepSync(5);
    }
    return fn();
  } finally {
    // Closing the descriptor releases the lock.
    closeSync(fd);
  }
}

/** Runs fn holding the lock at `path`, waiting for another holder at most timeoutMs without blocking the event loop. */
export async function withFileLock<T>(path: string, what: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const fd = openLockFile(path, what);
  try {
    const deadline = Date.now() + timeoutMs;
    while (!tryFlock(fd, LOCK_EX, path)) {
      if (Date.now() >= deadline) throw new TimeoutError(`${what}: take the lock ${path}`, timeoutMs, "another hostform process holds it (`fuser` names it)");
      await new Promise((r) => setTimeout(r, 10));
    }
    return await fn();
  } finally {
    closeSync(fd);
  }
}

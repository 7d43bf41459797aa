import { mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import { createExclusive } from "../sys/atomicFile";
import { hasCode, HostformError, SysError } from "../sys/errors";
import { stateDir } from "./stateFile";
import { isPidAlive } from "../sys/pidAlive";

/** Who holds a stack (the fields Pulumi's file backend writes into its lock files, plus ours). */
export interface LockHolder {
  pid: number;
  hostname: string;
  username: string;
  timestamp: string;
  command: string;
}

/** Another live process holds the stack. */
export class StackLockedError extends HostformError {
  readonly holder: LockHolder;
  constructor(stack: string, file: string, holder: LockHolder) {
    super(
      `stack '${stack}' is locked by '${holder.command}' (pid ${holder.pid} on ${holder.hostname}, user ${holder.username}, since ${holder.timestamp}); ` +
        `wait for it to finish, or remove ${file} if that process is gone`,
    );
    this.holder = holder;
  }
}

export interface StackLock {
  file: string;
  release(): void;
}

/** Lock file path, in the directory Pulumi's file backend uses for the same stack's locks. */
export function lockPath(project: string, stack: string, dir: string = stateDir()): string {
  return join(dir, ".pulumi", "locks", "organization", project, stack, "hostform.json");
}

/**
 * Takes the stack lock (created exclusively, never seen empty), failing at once (never waiting) when a live process holds it.
 * A lock left by a dead process on this host is taken over, with a warning through `warn`.
 */
export function acquireStackLock(project: string, stack: string, command: string, warn: (msg: string) => void, dir: string = stateDir()): StackLock {
  const file = lockPath(project, stack, dir);
  try {
    mkdirSync(join(file, ".."), { recursive: true, mode: 0o700 });
  } catch (err) {
    throw SysError.fromNode(err, "create lock directory");
  }
  const me: LockHolder = { pid: process.pid, hostname: hostname(), username: safeUser(), timestamp: new Date().toISOString(), command };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      // Created whole or not at all: a full disk fails here and leaves no empty lock behind.
      createExclusive(file, JSON.stringify(me) + "\n");
    } catch (err) {
      if (!hasCode(err, "EEXIST")) throw SysError.fromNode(err, `take the lock on stack '${stack}'`);
      const holder = readHolder(file);
      // An empty lock is what a hostform before createExclusive left while writing it (or when the
      // write failed): treat it as held while it is fresh.
      if (holder === undefined && ageMs(file) < 10_000) throw new HostformError(`stack '${stack}' is being locked by another process (${file}); try again`);
      if (holder !== undefined && (holder.hostname !== me.hostname || isPidAlive(holder.pid))) throw new StackLockedError(stack, file, holder);
      warn(`taking over a stale lock on stack '${stack}'${holder !== undefined ? ` left by '${holder.command}' (pid ${holder.pid}, no longer running)` : ""}`);
      rmSync(file, { force: true });
      continue;
    }
    let released = false;
    return {
      file,
      release() {
        if (released) return;
        released = true;
        // Only remove the lock if it is still ours (a stale takeover may have replaced it).
        if (readHolder(file)?.pid === process.pid) rmSync(file, { force: true });
      },
    };
  }
  throw new HostformError(`could not take the lock on stack '${stack}' (${file}): another process keeps taking it`);
}

/** The current holder, or undefined when the lock is free or names none (yet). */
export function readHolder(file: string): LockHolder | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if (hasCode(err, "ENOENT")) return undefined;
    throw SysError.fromNode(err, `read stack lock ${file}`);
  }
  try {
    const h = JSON.parse(text) as LockHolder;
    return typeof h.pid === "number" ? h : undefined;
  } catch {
    // Empty or cut short: its writer has created it and not written it yet, or died doing so. The
    // caller tells the two apart by the file's age.
    return undefined;
  }
}

function ageMs(file: string): number {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch (err) {
    // Released meanwhile: no holder is waiting to write it.
    if (hasCode(err, "ENOENT")) return Infinity;
    throw SysError.fromNode(err, `stat stack lock ${file}`);
  }
}


function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    // A uid without a passwd entry (common in containers) has no name; the lock shows the number.
    return String(process.getuid?.() ?? "unknown");
  }
}

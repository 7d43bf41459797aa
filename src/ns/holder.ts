// The holder is the PID 1 of a persistent PID namespace (the pod "pause" process): a PID namespace
// lives only while its init lives, and a pinned nsfs file does not keep init alive. It is a host
// program that does nothing: `sleep infinity` from coreutils (about 1 MB RSS).
import { accessSync, closeSync, constants as fsConstants } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import * as libc from "../sys/libc";
import { NotFoundError, TimeoutError, hasCode, UnsupportedError, withContext } from "../sys/errors";
import { readProcStat } from "./procStat";
import type { UnshareSpawn } from "./unshareWorker";

/** A holder process, identified by pid AND start time so that a recycled pid is never taken for it. */
export interface HolderIdentity {
  pid: number;
  /** Field 22 of /proc/<pid>/stat at creation. */
  startTime: number;
}

const SLEEP_CANDIDATES = ["/usr/bin/sleep", "/bin/sleep"];
const SIGKILL = 9;

/**
 * How to spawn a holder: detached (own session, stdio on /dev/null, cwd /, no inherited
 * descriptors), so it outlives its creator and holds nothing of it open.
 */
export function holderSpawn(): UnshareSpawn {
  for (const path of SLEEP_CANDIDATES) {
    try {
      accessSync(path, fsConstants.X_OK);
      return { command: path, args: ["infinity"], cwd: "/", env: {}, detached: true, stdio: ["ignore", "ignore", "ignore"], closeInheritedFds: true };
    } catch {
      // try the next candidate
    }
  }
  throw new UnsupportedError(`no sleep program found at ${SLEEP_CANDIDATES.join(" or ")}; install coreutils`);
}

/** Identity of a just-spawned holder, read from /proc while it surely still runs. */
export function identifyHolder(pid: number): HolderIdentity {
  const stat = readProcStat(pid);
  if (stat === undefined || isDead(stat.state)) throw new NotFoundError("namespace holder", `pid ${pid}`, "it exited right after it started");
  return { pid, startTime: stat.startTime };
}

/** True when the process with this identity exists and is not a zombie. */
export function isHolderAlive(holder: HolderIdentity): boolean {
  const stat = readProcStat(holder.pid);
  return stat !== undefined && stat.startTime === holder.startTime && !isDead(stat.state);
}

/**
 * Kills the holder with SIGKILL (PID 1 of a namespace ignores other signals it has no handler
 * for) and waits until it is gone. The signal goes through a pidfd opened before the identity
 * check: if the start time matches after the open, the pidfd refers to the holder. A holder that
 * is already gone, or whose pid now belongs to another process, is left alone.
 * When this process is the holder's parent (it created the holder and is still running), the
 * holder is reaped here; otherwise its parent (init or a subreaper) reaps it.
 */
export async function killHolder(holder: HolderIdentity): Promise<void> {
  let fd: number;
  try {
    fd = libc.pidfdOpen(holder.pid);
  } catch (err) {
    if (hasCode(err, "ESRCH")) return;
    throw withContext(err, `open pidfd of namespace holder ${holder.pid}`);
  }
  try {
    const stat = readProcStat(holder.pid);
    if (stat === undefined || stat.startTime !== holder.startTime) return;
    if (!isDead(stat.state)) {
      try {
        libc.pidfdSendSignal(fd, SIGKILL);
      } catch (err) {
        if (!hasCode(err, "ESRCH")) throw withContext(err, `kill namespace holder ${holder.pid}`);
      }
    }
    if (stat.ppid === process.pid) {
      await reap(fd, holder.pid);
    } else {
      await waitGone(holder);
    }
  } finally {
    closeSync(fd);
  }
}

async function reap(fd: number, pid: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    try {
      if (libc.waitidPidfd(fd, { noHang: true })) return;
    } catch (err) {
      // Someone else reaped it (ECHILD): it is gone either way.
      if (hasCode(err, "ECHILD")) return;
      throw withContext(err, `reap namespace holder ${pid}`);
    }
    await delay(10);
  }
  throw new TimeoutError(`reap namespace holder ${pid} after SIGKILL`, 5000);
}

async function waitGone(holder: HolderIdentity): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (!isHolderAlive(holder)) return;
    await delay(10);
  }
  throw new TimeoutError(`wait for namespace holder ${holder.pid} to exit after SIGKILL`, 5000);
}

function isDead(state: string): boolean {
  return state === "Z" || state === "X" || state === "x";
}

// Exit of a child this process did not spawn through libuv: one cloned with CLONE_PARENT by a
// helper (src/native/nsspawn.c). libuv reaps only the pids it spawned, so such a child would stay
// a zombie and its exit unheard; this reaps it through a pidfd when SIGCHLD says a child changed.
// The pidfd, opened while the child cannot have been reaped yet, names it for good: a recycled pid
// is never signalled or reaped by mistake.
import { closeSync } from "node:fs";
import * as libc from "./libc";
import { hasCode } from "./errors";
import { signalNameOf } from "./signals";

/** How an adopted child ended. */
export interface AdoptedExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface AdoptedChild {
  readonly pid: number;
  /** Settles once the child has exited and is reaped. */
  readonly exited: Promise<AdoptedExit>;
  /** Sends a signal unless the child is already reaped; false then. */
  signal(signal: number): boolean;
}

interface Watched {
  pidfd: number;
  resolve: (exit: AdoptedExit) => void;
}

const watched = new Set<Watched>();
let listening = false;

function reapExited(): void {
  for (const w of watched) {
    const status = libc.reapPidfd(w.pidfd, { noHang: true });
    if (status === undefined) continue;
    watched.delete(w);
    closeSync(w.pidfd);
    w.pidfd = -1;
    w.resolve({ code: status.code, signal: status.signal === null ? null : signalNameOf(status.signal) });
  }
  if (watched.size === 0 && listening) {
    process.removeListener("SIGCHLD", reapExited);
    listening = false;
  }
}

/**
 * Takes charge of a child of this process (main thread only: signal events reach it alone). It
 * must not have been reaped yet, which holds for a child nothing but this module waits for.
 */
export function adoptChild(pid: number): AdoptedChild {
  const w: Watched = { pidfd: libc.pidfdOpen(pid), resolve: () => undefined };
  const exited = new Promise<AdoptedExit>((resolve) => {
    w.resolve = resolve;
  });
  watched.add(w);
  if (!listening) {
    // A signal listener does not keep the event loop alive.
    process.on("SIGCHLD", reapExited);
    listening = true;
  }
  // It may have exited before the listener was there.
  reapExited();
  return {
    pid,
    exited,
    signal(signal: number): boolean {
      if (w.pidfd < 0) return false;
      try {
        libc.pidfdSendSignal(w.pidfd, signal);
      } catch (err) {
        // Exited, not yet reaped: nothing left to signal.
        if (hasCode(err, "ESRCH")) return false;
        throw err;
      }
      return true;
    },
  };
}

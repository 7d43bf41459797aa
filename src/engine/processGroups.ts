import { hasCode, SysError } from "../sys/errors";

/**
 * Process groups the engine started (program, provider hosts). They are killed when the engine
 * exits for any reason, so no provider or program outlives `hostform up`.
 */
const groups = new Set<number>();

/** Preload that ends a child when the engine's end of its stdin pipe closes. */
export const EXIT_WITH_PARENT = require.resolve("./exitWithParent");
let installed = false;

/** Remembers a child started with `detached: true` (it leads its own process group). */
export function trackProcessGroup(pgid: number): void {
  groups.add(pgid);
  installExitHooks();
}

export function untrackProcessGroup(pgid: number): void {
  groups.delete(pgid);
}

/**
 * Sends `signal` to every process of group `pgid`. A group whose processes have all exited (ESRCH)
 * is what stopping it wants, so that is no failure; anything else is thrown with its context.
 */
export function signalProcessGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if (!hasCode(err, "ESRCH")) throw SysError.fromNode(err, `send ${signal} to process group ${pgid}`);
  }
}

/** SIGKILLs every tracked group; safe to call more than once. */
export function killTrackedProcessGroups(): void {
  for (const pgid of groups) {
    try {
      signalProcessGroup(pgid, "SIGKILL");
    } catch (err) {
      // The engine is on its way out: say which group may have survived, and go on with the others.
      process.stderr.write(`hostform: ${(err as Error).message}\n`);
    }
  }
  groups.clear();
}

function installExitHooks(): void {
  if (installed) return;
  installed = true;
  process.on("exit", killTrackedProcessGroups);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      killTrackedProcessGroups();
      // Re-raise so the exit status still says which signal ended us.
      process.kill(process.pid, sig);
    });
  }
  process.on("uncaughtException", (err) => {
    killTrackedProcessGroups();
    process.stderr.write(`hostform: ${err.stack ?? String(err)}\n`);
    process.exit(1);
  });
}

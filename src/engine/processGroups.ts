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

/** SIGKILLs every tracked group; safe to call more than once. */
export function killTrackedProcessGroups(): void {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // Already gone.
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

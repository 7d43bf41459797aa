// Whether a process exists, by kill(pid, 0): for waiting on a process hostform asked to exit, and for
// lock files that record their holder's pid.

/** True while a process with this pid exists (EPERM counts as alive: it exists, owned by another user). */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

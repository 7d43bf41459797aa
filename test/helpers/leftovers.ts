// The "nothing is left" checks run after each test: they name what a test leaked and then remove it,
// so that only the leaking test fails, not every test after it.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";

/**
 * Asserts that none of the processes a test started outlives it, giving the kernel a moment to
 * reap them on a busy machine. Survivors (this test's own) are SIGKILLed before the assertion.
 */
export async function assertProcessesGone(pids: readonly number[], what: string): Promise<void> {
  const alive = (): number[] => pids.filter((p) => existsSync(`/proc/${p}`));
  for (let i = 0; i < 50 && alive().length > 0; i++) await delay(20);
  const left = alive();
  for (const p of left) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // exited meanwhile
    }
  }
  assert.deepEqual(left, [], what);
}

/** Asserts that no mount on the host names the test's prefix (its bundles, pins and run dirs do). */
export function assertNoMountsOf(prefix: string): void {
  assert.deepEqual(readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(prefix)), [], "mounts left on the host");
}

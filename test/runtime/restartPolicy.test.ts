// planRestart: the restart decision after a run, as a pure function of the policy and the run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BACKOFF_RESET_MS, UNKNOWN_EXIT_RESTART_REASON, parseRestartPolicy, planRestart } from "../../src/runtime/restartPolicy";

const now = new Date("2025-01-01T00:00:00.000Z");
const run = { exitCode: 1 as number | null, restartCount: 0, stoppedByUser: false, ranMs: 50, nextAttempt: 0 };

test("planRestart: the policy decides, the back-off step sets the delay and the due time", () => {
  assert.deepEqual(planRestart(parseRestartPolicy("always"), { ...run, nextAttempt: 3 }, now), { at: "2025-01-01T00:00:00.800Z", delayMs: 800, attempt: 3 });
  assert.equal(planRestart(parseRestartPolicy("no"), run, now), undefined);
  assert.equal(planRestart(parseRestartPolicy("on-failure"), { ...run, exitCode: 0 }, now), undefined);
  assert.equal(planRestart(parseRestartPolicy("on-failure:2"), { ...run, restartCount: 2 }, now), undefined);
  assert.equal(planRestart(parseRestartPolicy("always"), { ...run, stoppedByUser: true }, now), undefined);
});

test("planRestart: a long run resets the back-off; an unknown exit under on-failure carries the reason", () => {
  assert.equal(planRestart(parseRestartPolicy("always"), { ...run, nextAttempt: 5, ranMs: BACKOFF_RESET_MS }, now)?.attempt, 0);
  assert.equal(planRestart(parseRestartPolicy("on-failure"), { ...run, exitCode: null }, now)?.reason, UNKNOWN_EXIT_RESTART_REASON);
  assert.equal(planRestart(parseRestartPolicy("always"), { ...run, exitCode: null }, now)?.reason, undefined, "always restarts whatever the code: nothing to explain");
});

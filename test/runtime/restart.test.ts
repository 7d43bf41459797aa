import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { backoffDelay, parseRestartPolicy, shouldRestart, BACKOFF_MAX_MS } from "../../src/runtime/restartPolicy";
import type { ContainerState } from "../../src/runtime/client";
import { readState } from "../../src/runtime/state";
import { NotFoundError, ValidationError } from "../../src/sys/errors";
import { needsRoot } from "../../fixtures/prefix";
import { makeSupervisorFixture, until, type SupervisorFixture } from "./supervisorFixture";

let f: SupervisorFixture;

before(() => {
  if (needsRoot === false) f = makeSupervisorFixture("restart");
});

after(async () => {
  await f?.cleanup();
});

/** When the restart the state holds as pending (its typed pendingRestart) is due; undefined when none is. */
function pendingRestartDue(s: ContainerState): number | undefined {
  if (s.status !== "stopped" || s.pendingRestart === undefined) return undefined;
  return Date.parse(s.pendingRestart.at);
}

/**
 * Polls until a restart is pending with at least leadMs to go, so that what the test does next
 * surely lands before it: the state then, and when that restart is due.
 */
async function catchPendingRestart(id: string, leadMs: number, timeoutMs = 30_000): Promise<{ state: ContainerState; dueAt: number }> {
  const end = Date.now() + timeoutMs;
  let last: ContainerState | undefined;
  while (Date.now() < end) {
    last = await f.client.state(id);
    const dueAt = pendingRestartDue(last);
    if (dueAt !== undefined && dueAt - Date.now() >= leadMs) return { state: last, dueAt };
    await delay(20);
  }
  assert.fail(`no restart of ${id} pending with ${leadMs} ms to go within ${timeoutMs} ms; last state ${JSON.stringify(last)}`);
}

/** Time for a restart that was due at dueAt to have run, had it not been cancelled (a busy VM's supervisor included). */
const RESTART_MARGIN_MS = 1500;

async function untilPast(dueAt: number): Promise<void> {
  const left = dueAt + RESTART_MARGIN_MS - Date.now();
  if (left > 0) await delay(left);
}

test("restart policies parse and decide as Docker's do", () => {
  assert.deepEqual(parseRestartPolicy("on-failure:2"), { kind: "on-failure", max: 2 });
  assert.deepEqual(parseRestartPolicy(undefined), { kind: "no" });
  assert.throws(() => parseRestartPolicy("on-failure:x"), ValidationError);
  const onFailure2 = parseRestartPolicy("on-failure:2");
  assert.equal(shouldRestart(onFailure2, 1, 0, false), true);
  assert.equal(shouldRestart(onFailure2, 1, 2, false), false);
  assert.equal(shouldRestart(onFailure2, 0, 0, false), false);
  assert.equal(shouldRestart({ kind: "always" }, 0, 99, false), true);
  assert.equal(shouldRestart({ kind: "always" }, 0, 0, true), false, "a stop by the user is final");
  assert.deepEqual([0, 1, 2, 3].map(backoffDelay), [100, 200, 400, 800]);
  assert.equal(backoffDelay(30), BACKOFF_MAX_MS);
});

test("on-failure:2 restarts twice with growing back-off, then stays stopped", { skip: needsRoot }, async () => {
  const id = f.id("onfail");
  await f.client.create(id, f.spec(["sh", "-c", "echo run; exit 3"]), { restartPolicy: "on-failure:2" });
  const t0 = Date.now();
  await f.client.start(id);
  const w = await f.client.wait(id);
  const elapsed = Date.now() - t0;
  assert.equal(w.exitCode, 3);
  const s = await f.client.state(id);
  assert.equal(s.restartCount, 2);
  assert.equal(s.status, "stopped");
  // Back-off: 100 ms before the first restart, 200 ms before the second.
  assert.ok(elapsed >= 300, `restarts waited for the back-off (${elapsed} ms)`);
  const { readFileSync } = await import("node:fs");
  assert.equal(readFileSync(s.logPath, "utf8"), "run\nrun\nrun\n", "three runs wrote to the same log");
  await f.client.delete(id);
});

test("always restarts a program that exits 0 until it is stopped", { skip: needsRoot }, async () => {
  const id = f.id("always");
  await f.client.create(id, f.spec(["true"]), { restartPolicy: "always" });
  await f.client.start(id);
  assert.ok(await until(async () => (await f.client.state(id)).restartCount >= 3, 15_000), "restarted at least three times");
  // Stopped while a restart is pending (a `true` spends nearly all its time there): the stop must cancel it.
  const { state: pending, dueAt } = await catchPendingRestart(id, 500);
  const stopped = await f.client.stop(id, 2);
  assert.deepEqual({ status: stopped.status, count: stopped.restartCount }, { status: "stopped", count: pending.restartCount });
  await untilPast(dueAt);
  const later = await f.client.state(id);
  assert.deepEqual({ status: later.status, count: later.restartCount }, { status: "stopped", count: pending.restartCount }, "no restart after stop, even once the pending one was due");
  await f.client.delete(id);
});

test("update changes the restart policy in place: same pid, and the next exit follows the new policy", { skip: needsRoot }, async () => {
  const id = f.id("update");
  await f.client.create(id, f.spec(["sleep", "1000"]), { restartPolicy: "no" });
  const s = await f.client.start(id);
  const sup = f.supervisorPid();
  const u = await f.client.update(id, { restartPolicy: "always", stopSignal: "KILL", stopTimeout: 3 });
  assert.deepEqual({ pid: u.pid, status: u.status, policy: u.restartPolicy, sig: u.stopSignal, t: u.stopTimeout }, { pid: s.pid, status: "running", policy: "always", sig: "SIGKILL", t: 3 });
  assert.equal(f.supervisorPid(), sup, "the supervisor was not replaced");
  assert.equal(readState(id)!.restartPolicy, "always", "state.json holds the new policy");
  // Killed from outside (not a stop by the user): "always" brings it back, where "no" would not.
  process.kill(s.pid, "SIGKILL");
  assert.ok(await until(async () => {
    const st = await f.client.state(id);
    return st.status === "running" && st.pid !== s.pid && st.restartCount === 1;
  }), "restarted under the new policy");
  await f.client.delete(id, { force: true });
});

test("update rejects bad values by field and changes nothing", { skip: needsRoot }, async () => {
  const id = f.id("badupdate");
  await f.client.create(id, f.spec(["sleep", "1000"]), { restartPolicy: "on-failure:2" });
  // One bad field fails the whole request: the good restartPolicy beside it is not applied.
  await assert.rejects(f.client.update(id, { restartPolicy: "always", stopSignal: "BOGUS" }), (e: unknown) => e instanceof ValidationError && e.field === "stopSignal");
  await assert.rejects(f.client.update(id, { stopTimeout: -1 }), (e: unknown) => e instanceof ValidationError && e.field === "stopTimeout");
  await assert.rejects(f.client.update(id, { restartPolicy: "sometimes" }), (e: unknown) => e instanceof ValidationError && e.field === "restartPolicy");
  await assert.rejects(f.client.update(`${id}-nope`, { restartPolicy: "no" }), (e: unknown) => e instanceof NotFoundError && e.kind === "container" && e.id === `${id}-nope`);
  const st = await f.client.state(id);
  assert.deepEqual({ p: st.restartPolicy, s: st.stopSignal, t: st.stopTimeout }, { p: "on-failure:2", s: "SIGTERM", t: 10 });
  await f.client.delete(id, { force: true });
});

test("update to \"no\" cancels a restart already pending", { skip: needsRoot }, async () => {
  const id = f.id("cancel");
  // Exits at once, over and over: the back-off grows, so a restart is pending most of the time.
  await f.client.create(id, f.spec(["true"]), { restartPolicy: "always" });
  await f.client.start(id);
  // A back-off of 1.6 s (the fifth) at the least, so that the update surely lands while it is pending.
  const { state: pending, dueAt } = await catchPendingRestart(id, 1000);
  const u = await f.client.update(id, { restartPolicy: "no" });
  assert.deepEqual({ status: u.status, count: u.restartCount }, { status: "stopped", count: pending.restartCount });
  assert.doesNotMatch(u.exitNote ?? "", /restarting/, "the state no longer announces the restart");
  // wait() settles once no restart is pending: at once, as the cancelled one never runs.
  const w = await f.client.wait(id);
  assert.equal(w.exitCode, 0);
  assert.doesNotMatch(w.exitNote ?? "", /restarting/);
  assert.equal((await f.client.state(id)).restartCount, pending.restartCount, "wait() did not wait for a restart");
  await untilPast(dueAt);
  const later = await f.client.state(id);
  assert.deepEqual({ status: later.status, count: later.restartCount }, { status: "stopped", count: pending.restartCount }, "nothing ran once the cancelled restart was due");
  await f.client.delete(id);
});

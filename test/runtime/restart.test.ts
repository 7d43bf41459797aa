import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { backoffDelay, parseRestartPolicy, shouldRestart, BACKOFF_MAX_MS } from "../../src/runtime/restartPolicy";
import { ValidationError } from "../../src/sys/errors";
import { needsRoot } from "../helpers/prefix";
import { makeSupervisorFixture, until, type SupervisorFixture } from "./supervisorFixture";

let f: SupervisorFixture;

before(() => {
  if (needsRoot === false) f = makeSupervisorFixture("restart");
});

after(async () => {
  await f?.cleanup();
});

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
  const stopped = await f.client.stop(id, 2);
  assert.equal(stopped.status, "stopped");
  const count = stopped.restartCount;
  await new Promise((r) => setTimeout(r, 1500));
  const later = await f.client.state(id);
  assert.equal(later.status, "stopped");
  assert.equal(later.restartCount, count, "no restart after stop");
  await f.client.delete(id);
});

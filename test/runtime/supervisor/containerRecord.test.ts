// The per-container state machine without a container: exits, restart decisions, the typed pending
// restart and its timer, waiters. Persistence goes to a list of snapshots instead of state.json (the
// state store is tested on its own in test/runtime/state.test.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { LaunchedContainer } from "../../../src/runtime/launcher";
import { UNKNOWN_EXIT_RESTART_REASON, parseRestartPolicy } from "../../../src/runtime/restartPolicy";
import { exitNoteWithRestart, type ContainerState } from "../../../src/runtime/state";
import { ContainerRecord, UNKNOWN_EXIT_NOTE } from "../../../src/runtime/supervisor/containerRecord";
import type { WaitResult } from "../../../src/runtime/socketProtocol";
import { testPrefix } from "../../../fixtures/prefix";

function runningState(restartPolicy: string, extra: Partial<ContainerState> = {}): ContainerState {
  return {
    ociVersion: "1.0.2", id: testPrefix("record"), status: "running", pid: 0, bundle: "/", annotations: {}, pidStartTime: 0,
    created: new Date().toISOString(), started: new Date().toISOString(), exitCode: null, signal: null, restartCount: 0, restartPolicy,
    stopSignal: "SIGTERM", stopTimeout: 10, cgroup: "c", ownsCgroup: false, logPath: "/dev/null", logMaxBytes: 1, logFiles: 0, stdio: "log",
    spec: { ociVersion: "1.0.2", process: { args: ["true"], cwd: "/" }, root: { path: "/" } } as ContainerState["spec"], ...extra,
  };
}

/** A record whose writes are kept as snapshots; `failNext` makes the next write throw. */
function recordOf(state: ContainerState) {
  const saved: ContainerState[] = [];
  const reported: string[] = [];
  let failNext = false;
  const rec = new ContainerRecord(state, {
    persist(s) {
      if (failNext) {
        failNext = false;
        throw new Error("disk full");
      }
      saved.push(structuredClone(s));
    },
    report: (err, context) => reported.push(`${context}: ${String(err)}`),
  });
  return { rec, saved, reported, failNextWrite: () => (failNext = true) };
}

/** What toRunning needs of a launched container; no process behind it. */
const noProcess: LaunchedContainer = { pid: 0, pidfd: -1, exited: new Promise(() => undefined), warnings: [] };

/** A restart callback that counts its calls and can be awaited. */
function restartProbe() {
  let calls = 0;
  let resolve: () => void = () => undefined;
  const called = new Promise<void>((r) => (resolve = r));
  return {
    run: async () => {
      calls++;
      resolve();
    },
    called,
    calls: () => calls,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("an exit on-failure restarts is stopped and a typed pending restart, in one write; the restart runs when due", async () => {
  const { rec, saved } = recordOf(runningState("on-failure:2"));
  const probe = restartProbe();
  const t0 = Date.now();
  assert.equal(rec.afterExit({ code: 3, signal: null }, undefined, probe.run), true);
  assert.equal(saved.length, 1, "one atomic write holds the exit and the pending restart");
  const s = saved[0]!;
  assert.deepEqual({ status: s.status, code: s.exitCode, note: s.exitNote }, { status: "stopped", code: 3, note: undefined });
  assert.deepEqual({ delayMs: s.pendingRestart?.delayMs, attempt: s.pendingRestart?.attempt, reason: s.pendingRestart?.reason }, { delayMs: 100, attempt: 0, reason: undefined });
  const due = Date.parse(s.pendingRestart!.at) - t0;
  assert.ok(due >= 100 && due < 1000, `due in the back-off (${due} ms)`);
  assert.equal(exitNoteWithRestart(s), "restarting in 100 ms", "ps shows what exitNote used to hold");
  assert.ok(rec.isLive(), "a pending restart keeps the supervisor alive");
  await probe.called;
  assert.ok(Date.now() - t0 >= 95, "not before the back-off");
  assert.equal(probe.calls(), 1);
});

test("the back-off grows run after run and resets after a long run", () => {
  const { rec, saved } = recordOf(runningState("always"));
  const delays: number[] = [];
  for (let i = 0; i < 3; i++) {
    rec.toRunning(noProcess);
    rec.afterExit({ code: 0, signal: null }, undefined, async () => undefined);
    delays.push(saved.at(-1)!.pendingRestart!.delayMs);
  }
  assert.deepEqual(delays, [100, 200, 400]);
  rec.toRunning(noProcess);
  rec.state.started = new Date(Date.now() - 11_000).toISOString();
  rec.afterExit({ code: 0, signal: null }, undefined, async () => undefined);
  assert.deepEqual({ delay: saved.at(-1)!.pendingRestart!.delayMs, attempt: saved.at(-1)!.pendingRestart!.attempt }, { delay: 100, attempt: 0 });
  rec.cancelRestart();
});

test("an unknown exit code under on-failure restarts, and says why (the old exitNote text, now derived)", () => {
  const { rec, saved } = recordOf(runningState("on-failure"));
  rec.afterExit({ code: null, signal: null }, `${UNKNOWN_EXIT_NOTE}: it was adopted`, async () => undefined);
  const s = saved.at(-1)!;
  assert.equal(s.exitNote, `${UNKNOWN_EXIT_NOTE}: it was adopted`, "exitNote is the human note only");
  assert.equal(s.pendingRestart?.reason, UNKNOWN_EXIT_RESTART_REASON);
  assert.equal(exitNoteWithRestart(s), "exit code unknown: it was adopted; on-failure counts an unknown exit code as a failure; restarting in 100 ms");
  rec.cancelRestart();
});

test("no restart: exit 0 under on-failure, a stop by the user, an exit before start; waiters get the exit", async () => {
  const ok = recordOf(runningState("on-failure"));
  const waited = ok.rec.wait();
  assert.equal(ok.rec.afterExit({ code: 0, signal: null }, undefined, async () => assert.fail("no restart")), false);
  assert.deepEqual(await waited, { exitCode: 0, signal: null } satisfies WaitResult);
  assert.equal(ok.saved.at(-1)!.pendingRestart, undefined);

  const stopped = recordOf(runningState("always"));
  stopped.rec.stoppedByUser = true;
  assert.equal(stopped.rec.afterExit({ code: null, signal: "SIGTERM" }, undefined, async () => assert.fail("no restart")), false);
  assert.deepEqual({ code: stopped.saved.at(-1)!.exitCode, signal: stopped.saved.at(-1)!.signal }, { code: 143, signal: "SIGTERM" });

  const created = recordOf(runningState("always", { status: "created" }));
  assert.equal(created.rec.afterExit({ code: null, signal: "SIGKILL" }, "the init exited before the container was started", async () => assert.fail("no restart")), false);
  assert.equal(created.rec.isLive(), false);
});

test("a policy changed to \"no\" cancels the pending restart in the same write; it never runs and waiters settle", async () => {
  const { rec, saved } = recordOf(runningState("always"));
  const probe = restartProbe();
  rec.afterExit({ code: 0, signal: null }, undefined, probe.run);
  const waited = rec.wait();
  let settled = false;
  void waited.then(() => (settled = true));
  await sleep(10);
  assert.equal(settled, false, "wait() waits through a pending restart");
  const writes = saved.length;
  rec.changeSettings({ restartPolicy: parseRestartPolicy("no") });
  assert.equal(saved.length, writes + 1);
  assert.deepEqual({ policy: saved.at(-1)!.restartPolicy, pending: saved.at(-1)!.pendingRestart }, { policy: "no", pending: undefined });
  assert.deepEqual(await waited, { exitCode: 0, signal: null });
  await sleep(300);
  assert.equal(probe.calls(), 0, "the cancelled restart did not run");
});

test("a policy that still restarts keeps the pending restart; a failed write changes nothing", async () => {
  const { rec, saved, failNextWrite } = recordOf(runningState("always"));
  const probe = restartProbe();
  rec.afterExit({ code: 1, signal: null }, undefined, probe.run);
  rec.changeSettings({ restartPolicy: parseRestartPolicy("on-failure"), stopTimeout: 3 });
  assert.ok(saved.at(-1)!.pendingRestart !== undefined, "on-failure restarts exit 1 too");
  failNextWrite();
  assert.throws(() => rec.changeSettings({ restartPolicy: parseRestartPolicy("no"), stopSignal: "SIGKILL" }), /disk full/);
  assert.deepEqual(
    { policy: rec.state.restartPolicy, sig: rec.state.stopSignal, t: rec.state.stopTimeout, pending: rec.state.pendingRestart !== undefined },
    { policy: "on-failure", sig: "SIGTERM", t: 3, pending: true },
  );
  await probe.called;
});

test("a restart read back from the state is re-armed for its due time, and the back-off continues from its step", async () => {
  const at = new Date(Date.now() + 400).toISOString();
  const state = runningState("always", { status: "stopped", exitCode: 1, pendingRestart: { at, delayMs: 400, attempt: 2 } });
  const { rec, saved } = recordOf(state);
  const probe = restartProbe();
  rec.armRestart(probe.run);
  await sleep(150);
  assert.equal(probe.calls(), 0, "not before it is due");
  await probe.called;
  assert.ok(Date.now() >= Date.parse(at) - 5, "at its due time");
  rec.toRunning(noProcess);
  rec.afterExit({ code: 1, signal: null }, undefined, async () => undefined);
  assert.equal(saved.at(-1)!.pendingRestart?.attempt, 3, "the step after the stored one");
  assert.equal(saved.at(-1)!.pendingRestart?.delayMs, 800);
  rec.cancelRestart();

  const overdue = recordOf(runningState("always", { status: "stopped", pendingRestart: { at: new Date(Date.now() - 60_000).toISOString(), delayMs: 100, attempt: 0 } }));
  const late = restartProbe();
  const t0 = Date.now();
  overdue.rec.armRestart(late.run);
  await late.called;
  assert.ok(Date.now() - t0 < 100, "one due while no supervisor ran goes at once");
});

test("cancelRestart saves first: when the write fails the restart stays pending", async () => {
  const { rec, failNextWrite } = recordOf(runningState("always"));
  const probe = restartProbe();
  rec.afterExit({ code: 0, signal: null }, undefined, probe.run);
  failNextWrite();
  assert.throws(() => rec.cancelRestart(), /disk full/);
  assert.ok(rec.state.pendingRestart !== undefined);
  await probe.called;
});

test("a restart that fails is reported, not dropped", async () => {
  const { rec, reported } = recordOf(runningState("always"));
  let failed = false;
  rec.afterExit({ code: 0, signal: null }, undefined, async () => {
    failed = true;
    throw new Error("no init");
  });
  while (!failed) await sleep(20);
  await sleep(10);
  assert.equal(reported.length, 1);
  assert.match(reported[0]!, /^restart container .*: Error: no init$/);
});

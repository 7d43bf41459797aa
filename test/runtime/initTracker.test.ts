// The init-event state machine the launcher and the executor share, fed synthetic worker events.
// The failure reports are made by the init's own step()/failure(), so the path from a failed call
// in the init to the error the caller sees is covered without a container.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as libc from "../../src/sys/libc";
import { SysError, ValidationError, errorToWire } from "../../src/sys/errors";
import { InitTracker, type InitTrackerOptions } from "../../src/runtime/initTracker";
import { ContainerStartError } from "../../src/runtime/initFailure";
import type { InitFailure } from "../../src/runtime/initProtocol";
import { failure, step } from "../../src/runtime/init/steps";

const CONTAINER: InitTrackerOptions = { name: "container init", spawnContext: "spawn container init" };
const MISSING_DIR = "/hostform-test-no-such-dir";

/** "resolved", "rejected" or "pending" once the promise jobs queued so far have run. */
async function settled(p: Promise<unknown>): Promise<string> {
  return Promise.race([
    p.then(() => "resolved", () => "rejected"),
    new Promise<string>((resolve) => setImmediate(() => resolve("pending"))),
  ]);
}

/** The report an init sends when a step's syscall fails (chdir of a missing directory: harmless here). */
function chdirFailure(): InitFailure {
  try {
    step("chdir cwd", () => libc.chdir(MISSING_DIR));
  } catch (err) {
    return failure(err);
  }
  throw new Error("chdir of a missing directory succeeded");
}

function spawnedAndReady(t: InitTracker): void {
  t.handle({ op: "spawned", pid: 4242 });
  t.handle({ op: "message", message: { kind: "ready" } });
}

test("a container init's life: ready, prepared, warnings, exec then EOF starts it, exit ends it", async () => {
  const t = new InitTracker(CONTAINER);
  assert.equal(t.phase, "spawning");
  t.handle({ op: "spawned", pid: 4242 });
  assert.equal(await t.spawned, 4242);
  assert.equal(t.pid, 4242);
  assert.equal(t.phase, "loading");
  assert.equal(await settled(t.ready), "pending");
  t.handle({ op: "message", message: { kind: "ready" } });
  assert.equal(await settled(t.ready), "resolved");
  t.handle({ op: "message", message: { kind: "warning", message: "ambient: not raised" } });
  assert.equal(await settled(t.prepared), "pending");
  t.handle({ op: "message", message: { kind: "prepared" } });
  assert.equal(await settled(t.prepared), "resolved");
  assert.deepEqual(t.warnings, ["ambient: not raised"]);
  t.handle({ op: "message", message: { kind: "exec" } });
  assert.equal(t.phase, "exec");
  assert.equal(await settled(t.started), "pending", "\"exec\" alone: execve may still fail");
  t.handle({ op: "eof" });
  assert.equal(await settled(t.started), "resolved");
  assert.equal(t.phase, "running");
  assert.equal(await settled(t.exited), "pending");
  t.handle({ op: "exit", code: 0, signal: null });
  assert.deepEqual(await t.exited, { code: 0, signal: null });
  assert.equal(t.phase, "exited");
});

test("an EOF without \"exec\" does not start the program; the exit then says it died before exec", async () => {
  const t = new InitTracker(CONTAINER);
  spawnedAndReady(t);
  t.handle({ op: "message", message: { kind: "prepared" } });
  t.handle({ op: "eof" });
  assert.equal(await settled(t.started), "pending");
  t.handle({ op: "exit", code: null, signal: "SIGKILL" });
  await assert.rejects(t.started, /^HostformError: container init died before exec \(code null, signal SIGKILL\)$/);
  assert.deepEqual(await t.exited, { code: null, signal: "SIGKILL" });
});

test("an exit after \"exec\" but before the EOF still counts as started (the events race)", async () => {
  const t = new InitTracker(CONTAINER);
  spawnedAndReady(t);
  t.handle({ op: "message", message: { kind: "exec" } });
  t.handle({ op: "exit", code: 0, signal: null });
  assert.equal(await settled(t.started), "resolved");
});

test("an exit before \"ready\" rejects ready and prepared with what the exit was", async () => {
  const t = new InitTracker(CONTAINER);
  t.handle({ op: "spawned", pid: 4242 });
  t.handle({ op: "exit", code: 1, signal: null });
  await assert.rejects(t.ready, /container init exited before it was ready \(code 1, signal null\)/);
  await assert.rejects(t.prepared, /container init died before it was prepared \(code 1, signal null\)/);
  await assert.rejects(t.started, /container init died before exec/);
});

test("a failed step becomes a ContainerStartError with the step once, errno, syscall, path and the SysError as cause", async () => {
  const t = new InitTracker(CONTAINER);
  spawnedAndReady(t);
  t.handle({ op: "message", message: chdirFailure() });
  assert.equal(t.phase, "failed");
  const isChdirError = (e: unknown): boolean => {
    assert.ok(e instanceof ContainerStartError, String(e));
    assert.equal(e.step, "chdir cwd");
    assert.equal(e.errno, 2);
    assert.equal(e.syscall, "chdir");
    assert.equal(e.path, MISSING_DIR);
    assert.equal(e.message, `container init: chdir cwd: chdir ${MISSING_DIR}: ENOENT (no such file or directory)`);
    assert.ok(e.cause instanceof SysError, "the init's SysError is the cause");
    assert.equal(e.cause.errno, 2);
    return true;
  };
  await assert.rejects(t.prepared, isChdirError);
  // An EOF after the error (the init closing down) must not turn it into a start.
  t.handle({ op: "eof" });
  t.handle({ op: "exit", code: 1, signal: null });
  await assert.rejects(t.started, isChdirError);
  assert.deepEqual(await t.exited, { code: 1, signal: null });
});

test("\"exec\" followed by an error (execve failed) is a failure, not a start", async () => {
  const t = new InitTracker(CONTAINER);
  spawnedAndReady(t);
  t.handle({ op: "message", message: { kind: "exec" } });
  t.handle({ op: "message", message: chdirFailure() });
  t.handle({ op: "eof" });
  t.handle({ op: "exit", code: 1, signal: null });
  await assert.rejects(t.started, ContainerStartError);
});

test("an exec init's failures carry the \"exec\" context in step and message", async () => {
  const t = new InitTracker({ name: "exec init", spawnContext: "spawn exec init in the container", failureContext: "exec" });
  spawnedAndReady(t);
  t.handle({ op: "message", message: chdirFailure() });
  await assert.rejects(t.started, (e: unknown) => e instanceof ContainerStartError && e.step === "exec: chdir cwd" && /^container init: exec: chdir cwd: chdir /.test(e.message) && e.errno === 2);
});

test("a bad spec reported by the init stays a ValidationError with its field, problem and hint", async () => {
  const t = new InitTracker(CONTAINER);
  spawnedAndReady(t);
  let report: InitFailure | undefined;
  try {
    step("resolve program", () => {
      throw new ValidationError("process.args[0]", "'x' was not found in the container", "check the rootfs");
    });
  } catch (err) {
    report = failure(err);
  }
  t.handle({ op: "message", message: report! });
  await assert.rejects(t.prepared, (e: unknown) => {
    assert.ok(e instanceof ValidationError, String(e));
    assert.equal(e.field, "process.args[0]");
    assert.equal(e.problem, "'x' was not found in the container");
    assert.equal(e.hint, "check the rootfs");
    assert.equal(e.message.match(/process\.args\[0\]/g)?.length, 1, "the field is printed once");
    return true;
  });
});

test("a spawn failure rejects everything pending and ends the init; later events change nothing", async () => {
  const t = new InitTracker(CONTAINER);
  t.handle({ op: "spawnFailed", message: "fork: ENOMEM" });
  for (const p of [t.spawned, t.ready, t.prepared, t.started]) await assert.rejects(p, /^HostformError: spawn container init: fork: ENOMEM$/);
  assert.deepEqual(await t.exited, { code: null, signal: null });
  assert.equal(t.phase, "exited");
  t.handle({ op: "spawned", pid: 7 });
  assert.equal(t.pid, 0);
});

test("a spawn failure the worker sent typed stays a SysError (errno, syscall), with the spawn as context", async () => {
  let original: unknown;
  try {
    libc.chdir(MISSING_DIR);
  } catch (err) {
    original = err;
  }
  assert.ok(original instanceof SysError);
  const t = new InitTracker(CONTAINER);
  t.handle({ op: "spawnFailed", message: original.message, error: errorToWire(original) });
  await assert.rejects(t.started, (e: unknown) => e instanceof SysError && e.errno === 2 && e.syscall === "chdir" && e.message === `spawn container init: ${original.message}`);
});

test("a lost worker fails what is pending with its error and ends the init; a start already made stands", async () => {
  const lostDuringPrepare = new InitTracker(CONTAINER);
  spawnedAndReady(lostDuringPrepare);
  const boom = new Error("worker crashed");
  lostDuringPrepare.handle({ op: "lost", error: boom });
  await assert.rejects(lostDuringPrepare.prepared, (e: unknown) => e === boom);
  assert.deepEqual(await lostDuringPrepare.exited, { code: null, signal: null });

  const running = new InitTracker(CONTAINER);
  spawnedAndReady(running);
  running.handle({ op: "message", message: { kind: "exec" } });
  running.handle({ op: "eof" });
  running.handle({ op: "lost", error: boom });
  assert.equal(await settled(running.started), "resolved");
  assert.deepEqual(await running.exited, { code: null, signal: null });
});

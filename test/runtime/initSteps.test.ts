// The init's error path: step() adds the step as context to whatever it catches (class and fields
// kept, the original as cause) and failure() turns that into the "error" message.
import { test } from "node:test";
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import * as libc from "../../src/sys/libc";
import { HostformError, SysError, ValidationError, errorFromWire } from "../../src/sys/errors";
import { StepError, failure, step } from "../../src/runtime/init/steps";

const MISSING = "/hostform-test-no-such-dir";

function caught(fn: () => void): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a failure");
}

test("a failed syscall keeps errno, syscall and path; the step is added once, the original is the cause", () => {
  const original = caught(() => libc.chdir(MISSING));
  assert.ok(original instanceof SysError);
  const err = caught(() => step("chdir cwd", () => libc.chdir(MISSING)));
  assert.ok(err instanceof StepError);
  assert.equal(err.step, "chdir cwd");
  assert.ok(err.error instanceof SysError);
  assert.equal(err.error.errno, 2);
  assert.equal(err.error.syscall, "chdir");
  assert.equal(err.error.path, MISSING);
  assert.equal(err.error.message, `chdir cwd: ${original.message}`);
  assert.ok(err.error.cause instanceof SysError && err.error.cause.message === original.message);
});

test("a Node fs error becomes a SysError with the step as context", () => {
  const err = caught(() => step("mount /data", () => statSync(MISSING)));
  assert.ok(err instanceof StepError && err.error instanceof SysError);
  assert.equal(err.error.syscall, "stat");
  assert.equal(err.error.path, MISSING);
  assert.match(err.error.message, /^mount \/data: stat \/hostform-test-no-such-dir: ENOENT/);
});

test("nested steps: the innermost step names the failure", () => {
  const err = caught(() => step("outer", () => step("inner", () => libc.chdir(MISSING))));
  assert.ok(err instanceof StepError);
  assert.equal(err.step, "inner");
  assert.doesNotMatch(err.message, /outer/);
});

test("failure() reports the step, the SysError's fields and the typed error in wire form", () => {
  const f = failure(caught(() => step("chdir cwd", () => libc.chdir(MISSING))));
  assert.equal(f.kind, "error");
  assert.equal(f.step, "chdir cwd");
  assert.equal(f.errno, 2);
  assert.equal(f.syscall, "chdir");
  assert.equal(f.path, MISSING);
  assert.equal(f.field, undefined);
  assert.match(f.message, /^chdir cwd: chdir \/hostform-test-no-such-dir: ENOENT/);
  const rebuilt = errorFromWire(f.error!);
  assert.ok(rebuilt instanceof SysError);
  assert.equal(rebuilt.errno, 2);
  assert.equal(rebuilt.message, f.message);
});

test("failure() of a ValidationError names its field; of anything outside a step, the step is \"init\"", () => {
  const v = failure(caught(() => step("mask /proc/kcore", () => {
    throw new ValidationError("linux.maskedPaths", "no null device");
  })));
  assert.equal(v.field, "linux.maskedPaths");
  assert.equal(v.errno, undefined);
  assert.ok(errorFromWire(v.error!) instanceof ValidationError);
  const plain = failure(new TypeError("boom"));
  assert.equal(plain.step, "init");
  assert.equal(plain.message, "init: boom");
  assert.ok(errorFromWire(plain.error!) instanceof HostformError);
});

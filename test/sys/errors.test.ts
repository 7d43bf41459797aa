// Errors add context without losing what they were, and keep their type across a process boundary.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  HostformError, NotFoundError, SysError, TimeoutError, ValidationError, afterUndo, errorFromWire, errorToWire, hasCode, registerErrorClass, withContext,
} from "../../src/sys/errors";

function nodeError(): unknown {
  try {
    readFileSync("/nonexistent/hostform-test-errors");
  } catch (err) {
    return err;
  }
  throw new Error("unreachable");
}

test("SysError.fromNode turns a Node error into a SysError naming the call and path, with the Node error as cause", () => {
  const node = nodeError();
  const e = SysError.fromNode(node, "read config");
  assert.ok(e instanceof SysError);
  assert.equal(e.code, "ENOENT");
  assert.equal(e.syscall, "open");
  assert.equal(e.path, "/nonexistent/hostform-test-errors");
  assert.equal(e.message, "read config: open /nonexistent/hostform-test-errors: ENOENT (no such file or directory)");
  assert.equal(e.cause, node);
});

test("context is added in front, layer by layer, and the error keeps its class and fields", () => {
  const inner = new SysError("write", 16, "/sys/fs/cgroup/x/cgroup.procs", "move process 7");
  const outer = SysError.fromNode(inner, "create container web");
  assert.ok(outer instanceof SysError);
  assert.notEqual(outer, inner);
  assert.equal(outer.message, "create container web: move process 7: write /sys/fs/cgroup/x/cgroup.procs: EBUSY (device or resource busy)");
  assert.equal(outer.cause, inner);
  assert.ok(hasCode(outer, "EBUSY"));
  const v = withContext(new ValidationError("limits.memory.max", "unknown unit \"Q\""), "check Cgroup web");
  assert.ok(v instanceof ValidationError);
  assert.equal(v.field, "limits.memory.max");
  // The field is printed once.
  assert.equal(v.message.split("limits.memory.max").length, 2);
  const plain = withContext(new Error("boom"), "start");
  assert.ok(plain instanceof HostformError);
  assert.equal(plain.message, "start: boom");
});

test("typed errors survive the wire: class, fields, message and cause", () => {
  class ExampleError extends HostformError {
    constructor(readonly step: string) {
      super(`example at ${step}`);
    }
  }
  registerErrorClass(ExampleError);
  const original = new NotFoundError("container", "web", "list containers with `hostform ps`").withContext("state");
  const back = errorFromWire(JSON.parse(JSON.stringify(errorToWire(original))));
  assert.ok(back instanceof NotFoundError);
  assert.equal(back.kind, "container");
  assert.equal(back.id, "web");
  assert.equal(back.message, original.message);
  assert.ok(back.cause instanceof NotFoundError);
  const sys = errorFromWire(errorToWire(new SysError("mount", 1, "/x")));
  assert.ok(sys instanceof SysError && hasCode(sys, "EPERM") && sys.path === "/x");
  const t = errorFromWire(errorToWire(new TimeoutError("stop web", 10)));
  assert.ok(t instanceof TimeoutError && t.ms === 10);
  const ex = errorFromWire(errorToWire(new ExampleError("mounts")));
  assert.ok(ex instanceof ExampleError && ex.step === "mounts");
  const unknown = errorFromWire({ name: "WeirdError", message: "weird" });
  assert.ok(unknown instanceof HostformError && unknown.name === "WeirdError" && unknown.message === "weird");
});

test("afterUndo returns the failure unchanged when the undo works, and notes a failed undo instead of dropping it", async () => {
  const failure = new ValidationError("rootfs", "is not a directory");
  let undone = false;
  assert.equal(await afterUndo(failure, "undo", () => void (undone = true)), failure);
  assert.ok(undone);
  const noted = await afterUndo(failure, "removing cgroup web", () => {
    throw new SysError("rmdir", 16, "/sys/fs/cgroup/pids/hostform/web");
  });
  assert.ok(noted instanceof ValidationError && noted.field === "rootfs");
  assert.match(noted.message, /^rootfs: is not a directory; removing cgroup web failed too, so something may be left behind: rmdir \/sys\/fs\/cgroup\/pids\/hostform\/web: EBUSY/);
  const plain = await afterUndo(new Error("boom"), "undo", () => Promise.reject(new Error("stuck")));
  assert.ok(plain instanceof HostformError && /boom; undo failed too.*stuck/.test(plain.message));
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { describeError } from "../../src/engine/errorText";
import { HostformError, ValidationError } from "../../src/sys/errors";

test("an error's causes are shown after its context, each once", () => {
  const low = new Error("EACCES: permission denied, open '/x/dev.json'");
  const mid = new HostformError("read checkpoint", { cause: low });
  const top = new HostformError("refresh web", { cause: mid });
  assert.equal(describeError(top), "refresh web: read checkpoint: EACCES: permission denied, open '/x/dev.json'");
  // A message that already quotes its cause does not repeat it.
  const quoted = new HostformError(`Pulumi.dev.yaml: invalid YAML: ${low.message}`, { cause: low });
  assert.equal(describeError(quoted), quoted.message);
  assert.equal(describeError(new ValidationError("memory.max", "unknown unit")), "memory.max: unknown unit");
});

test("an error that is not hostform's is a bug and shows its stack", () => {
  const bug = new TypeError("x is undefined");
  assert.equal(describeError(bug), bug.stack);
  assert.equal(describeError("plain"), "plain");
});

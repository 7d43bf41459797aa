import assert from "node:assert/strict";
import { test } from "node:test";
import { LIVE_STATUS_KEY, withLiveStatus } from "../../providers/liveStatus";
import { classifyDrift, splitLiveStatus } from "../../src/engine/driftCheck";
import type { EngineEvent } from "../../src/engine/events";
import type { DiffResult } from "../../src/engine/providerHost";
import { SECRET_SIG, SIG_KEY } from "../../src/engine/propertyValues";
import { SecretRedactor } from "../../src/engine/secretRedaction";
import type { ResourceState } from "../../src/engine/state";

const secret = (value: unknown) => ({ [SIG_KEY]: SECRET_SIG, value });

function container(outputs: Record<string, unknown>): ResourceState {
  const inputs = { name: "web", limits: { memory: { max: 33554432 } }, restartPolicy: "always" };
  return { urn: "urn:pulumi:dev::p::pulumi-nodejs:dynamic/hostform:Container::web", type: "pulumi-nodejs:dynamic/hostform:Container", custom: true, id: "web", inputs, outputs: { ...inputs, ...outputs }, dependencies: [], created: "" };
}

const running = { pid: 100, status: "running", startedAt: "2025-01-01T00:00:00Z", restartCount: 0, liveLimits: { memory: { max: 33554432 } } };

test("a restart by the container's own policy is refreshed outputs, not drift", () => {
  const old = container(running);
  const live = { ...old.outputs, pid: 200, startedAt: "2025-01-01T00:01:00Z", restartCount: 1 };
  const f = classifyDrift(old, { outputs: live }, { changes: "none", replaces: [], deleteBeforeReplace: false });
  assert.equal(f.status, "in-sync");
  assert.deepEqual(f.changes, []);
  assert.deepEqual(f.outputsChanged, ["pid", "restartCount", "startedAt"]);
});

test("a rewritten limit is modified and shows the live limits; a killed process is stopped", () => {
  const old = container(running);
  const rewritten = classifyDrift(old, { outputs: { ...old.outputs, liveLimits: { memory: { max: 50331648 } } } }, { changes: "some", replaces: [], deleteBeforeReplace: false });
  assert.equal(rewritten.status, "modified");
  assert.deepEqual(rewritten.changes.map((c) => c.key), ["liveLimits"]);
  // What the Container provider's Read returns for a killed process: the live status rides in the outputs.
  const read = splitLiveStatus(withLiveStatus({ ...old.outputs, pid: 0, status: "stopped" }, "stopped"));
  assert.equal(read.status, "stopped");
  assert.ok(!(LIVE_STATUS_KEY in read.outputs), "the report is not an output of the resource");
  const killed = classifyDrift(old, { outputs: read.outputs, status: "stopped" }, { changes: "some", replaces: [], deleteBeforeReplace: false });
  assert.equal(killed.status, "stopped");
  assert.deepEqual(killed.changes.map((c) => c.key), ["pid", "status"]);
});

test("the engine reads no output names: only the provider's live-status report makes drift stopped", () => {
  const old = container(running);
  const diff: DiffResult = { changes: "some", replaces: [], deleteBeforeReplace: false };
  const unreported = classifyDrift(old, { outputs: { ...old.outputs, pid: 0, status: "stopped" } }, diff);
  assert.equal(unreported.status, "modified");
  const otherResource = classifyDrift(old, { outputs: { ...old.outputs, state: "halted" }, status: "stopped" }, diff);
  assert.equal(otherResource.status, "stopped");
  // A report is no drift by itself: the provider's Diff decides that.
  const quiet = classifyDrift(old, { outputs: old.outputs, status: "stopped" }, { changes: "none", replaces: [], deleteBeforeReplace: false });
  assert.equal(quiet.status, "in-sync");
  // A report stored by an engine that keeps it (the Pulumi CLI) is never shown as a change.
  const stored = container({ ...running, [LIVE_STATUS_KEY]: "stopped" });
  const back = classifyDrift(stored, { outputs: { ...stored.outputs, [LIVE_STATUS_KEY]: undefined } }, { changes: "none", replaces: [], deleteBeforeReplace: false });
  assert.deepEqual(back.outputsChanged, []);
});

test("without a provider diff, declared-vs-live decides: an input key read back differently is drift, an output-only change is not", () => {
  const old = container(running);
  const unknown: DiffResult = { changes: "unknown", replaces: [], deleteBeforeReplace: false };
  const volatile = classifyDrift(old, { outputs: { ...old.outputs, pid: 300 } }, unknown);
  assert.equal(volatile.status, "in-sync");
  const policy = classifyDrift(old, { outputs: { ...old.outputs, restartPolicy: "no", pid: 300 } }, unknown);
  assert.equal(policy.status, "modified");
  assert.deepEqual(policy.changes.map((c) => c.key), ["restartPolicy"]);
  assert.deepEqual(policy.outputsChanged, ["pid"]);
  const readInputs = classifyDrift(old, { outputs: old.outputs, inputs: { ...old.inputs, name: "other" } }, unknown);
  assert.equal(readInputs.status, "modified");
});

test("the redactor masks wrapped secrets in events and their plaintext in any text", () => {
  const r = new SecretRedactor();
  const ev: EngineEvent = { type: "step-done", op: "create", urn: "u", dryRun: false, durationMs: 1, changes: [{ key: "env", old: undefined, new: secret({ TOKEN: "tok-3141", MODE: "x" }) }] };
  const masked = r.event(ev);
  assert.equal(masked.type === "step-done" && masked.changes[0]!.new, "[secret]");
  // Learned from the event: later text is scrubbed, JSON-escaped forms too.
  const d = r.event({ type: "diagnostic", severity: "debug", message: 'resp: urn,web,{"TOKEN":"tok-3141"} env=tok-3141' });
  assert.equal(d.type === "diagnostic" && d.message, 'resp: urn,web,{"TOKEN":"[secret]"} env=[secret]');
  const r2 = new SecretRedactor();
  r2.learn({ a: secret('quo"te') });
  assert.equal(r2.text('x "quo\\"te" y'), 'x "[secret]" y');
  // Outputs: nested secrets masked, plain values untouched.
  const o = r.event({ type: "outputs", outputs: { pid: 7, token: secret("s-1234"), nested: { k: secret(12345) } } });
  assert.deepEqual(o.type === "outputs" && o.outputs, { pid: 7, token: "[secret]", nested: { k: "[secret]" } });
  assert.equal(r.text("code 12345 and s-1234"), "code [secret] and [secret]");
  // Failure messages are scrubbed as well.
  const f = r.event({ type: "step-failed", op: "create", urn: "u", message: "bad env tok-3141", durationMs: 1 });
  assert.equal(f.type === "step-failed" && f.message, "bad env [secret]");
});

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { testPrefix } from "../../fixtures/prefix";
import { applyIgnoreChanges, dependentReplacements, planStep } from "../../src/engine/planner";
import { SECRET_SIG, SIG_KEY } from "../../src/engine/propertyValues";
import type { ResourceState } from "../../src/engine/state";
import { checkpointPath, readCheckpoint, writeCheckpoint } from "../../src/engine/stateFile";
import { crypterFromState } from "../../src/engine/secrets/passphrase";
import { StackSecrets } from "../../src/engine/secrets/stackSecrets";
import { createHash } from "node:crypto";

const old: ResourceState = { urn: "urn:pulumi:dev::p::t::a", type: "t", custom: true, id: "1", inputs: { x: 1, y: "a" }, outputs: {}, dependencies: [] };

test("planStep follows the provider's diff, replaceOnChanges, --replace and the DBR option", () => {
  const base = { old, custom: true, forceReplace: false, replaceOnChanges: [], deleteBeforeReplace: undefined };
  assert.equal(planStep({ ...base, old: undefined, newInputs: { x: 1 }, diff: undefined }).op, "create");
  assert.equal(planStep({ ...base, newInputs: { x: 2, y: "a" }, diff: { changes: "none", replaces: [], deleteBeforeReplace: false } }).op, "same");
  assert.equal(planStep({ ...base, newInputs: { x: 2, y: "a" }, diff: { changes: "some", replaces: [], deleteBeforeReplace: false } }).op, "update");
  // No diff method: the engine compares inputs itself.
  assert.equal(planStep({ ...base, newInputs: { x: 1, y: "a" }, diff: { changes: "unknown", replaces: [], deleteBeforeReplace: false } }).op, "same");
  const r = planStep({ ...base, newInputs: { x: 2, y: "a" }, diff: { changes: "some", replaces: ["x"], deleteBeforeReplace: true } });
  assert.deepEqual([r.op, r.replaceKeys, r.deleteBeforeReplace], ["replace", ["x"], true]);
  assert.equal(planStep({ ...base, replaceOnChanges: ["y"], newInputs: { x: 1, y: "b" }, diff: { changes: "some", replaces: [], deleteBeforeReplace: false } }).op, "replace");
  assert.equal(planStep({ ...base, forceReplace: true, newInputs: { x: 1, y: "a" }, diff: { changes: "none", replaces: [], deleteBeforeReplace: false } }).op, "replace");
  const opt = planStep({ ...base, deleteBeforeReplace: false, newInputs: { x: 2 }, diff: { changes: "some", replaces: ["x"], deleteBeforeReplace: true } });
  assert.equal(opt.deleteBeforeReplace, false, "the resource option wins over the provider");
});

test("applyIgnoreChanges keeps old values at the listed paths", () => {
  assert.deepEqual(applyIgnoreChanges({ a: 1, b: { c: 2 } }, { a: 5, b: { c: 9, d: 1 } }, ["a", "b.c"]), { a: 1, b: { c: 2, d: 1 } });
  assert.deepEqual(applyIgnoreChanges({}, { a: 5 }, ["a"]), {});
});

test("checkpoint round-trips as Pulumi version 3 with secrets and pending operations", () => {
  const dir = mkdtempSync(join(tmpdir(), `${testPrefix("state")}-`));
  try {
    const secret = { [SIG_KEY]: SECRET_SIG, value: "pw-1f2e3d" };
    const a: ResourceState = { ...old, outputs: { pw: secret } };
    const b: ResourceState = { ...old, urn: "urn:pulumi:dev::p::t::b", dependencies: [old.urn] };
    let salt: string | undefined;
    const secrets = new StackSecrets({ stack: "dev", salt: undefined, saveSalt: (s) => (salt = s), passphrase: () => ({ value: "pass-phrase", source: "PULUMI_CONFIG_PASSPHRASE" }) });
    writeCheckpoint("p", "dev", { resources: [b, a], pendingOperations: [{ type: "creating", resource: b }] }, secrets, dir);
    const text = readFileSync(checkpointPath("p", "dev", dir), "utf8");
    const raw = JSON.parse(text);
    assert.equal(raw.version, 3);
    assert.equal(raw.checkpoint.latest.manifest.magic, createHash("sha256").update(raw.checkpoint.latest.manifest.version).digest("hex"));
    assert.deepEqual(raw.checkpoint.latest.resources.map((r: { urn: string }) => r.urn), [a.urn, b.urn], "dependencies first");
    // Sealed as Pulumi's passphrase provider does: the value's JSON, under the salt the stack saved.
    assert.ok(!text.includes("pw-1f2e3d"), "the secret's plaintext is in the checkpoint");
    assert.deepEqual(raw.checkpoint.latest.secrets_providers, { type: "passphrase", state: { salt } });
    const wrapper = raw.checkpoint.latest.resources[0].outputs.pw;
    assert.deepEqual(Object.keys(wrapper).sort(), [SIG_KEY, "ciphertext"]);
    assert.equal(crypterFromState("pass-phrase", salt!).decrypt(wrapper.ciphertext), '"pw-1f2e3d"');
    assert.equal(raw.checkpoint.latest.pending_operations[0].type, "creating");
    const back = readCheckpoint("p", "dev", secrets, dir)!;
    assert.deepEqual(back.resources[0]!.outputs.pw, secret);
    assert.equal(back.pendingOperations.length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("dependentReplacements takes only dependents whose diff with unknown inputs says replace, transitively", async () => {
  const r = (name: string, extra: Partial<ResourceState> = {}): ResourceState => ({ urn: `urn:pulumi:dev::p::t::${name}`, type: "t", custom: true, id: name, inputs: { name, content: "c" }, outputs: {}, dependencies: [], ...extra });
  const root = r("root");
  const u = (n: string) => `urn:pulumi:dev::p::t::${n}`;
  // byName: its name comes from root (the provider replaces on a name change).
  const byName = r("byName", { dependencies: [u("root")], propertyDependencies: { name: [u("root")] } });
  // byContent: only its content comes from root (an update).
  const byContent = r("byContent", { dependencies: [u("root")], propertyDependencies: { content: [u("root")] } });
  // onlyDependsOn: dependsOn, no property from root.
  const onlyDependsOn = r("onlyDependsOn", { dependencies: [u("root")] });
  // chained: its name comes from byName, which is replaced, so it goes too.
  const chained = r("chained", { dependencies: [u("byName")], propertyDependencies: { name: [u("byName")] } });
  // registered: already handled by the program in this run.
  const registered = r("registered", { dependencies: [u("root")], propertyDependencies: { name: [u("root")] } });
  const component = r("component", { custom: false, dependencies: [u("root")], propertyDependencies: { name: [u("root")] } });
  const asked: string[] = [];
  const got = await dependentReplacements(root, [chained, byContent, root, onlyDependsOn, byName, registered, component], new Set([u("registered")]), async (d, unknownKeys) => {
    asked.push(`${d.id}:${unknownKeys.join(",")}`);
    return unknownKeys.includes("name");
  });
  assert.deepEqual(got.map((x) => x.id), ["root", "byName", "chained"]);
  assert.deepEqual(asked.sort(), ["byContent:content", "byName:name", "chained:name"]);
});

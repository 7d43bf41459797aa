import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { capMask } from "../../src/sys/libc";
import { CAPABILITIES } from "../../src/sys/constants";
import { ValidationError } from "../../src/sys/errors";
import { capsToDrop, raisableAmbient } from "../../src/runtime/init/capabilities";
import { needsRoot } from "../../fixtures/prefix";
import { statusField } from "../helpers/procStatus";

const LAST_CAP = Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8").trim());

test("capsToDrop lists every capability up to and including cap_last_cap that the mask lacks", () => {
  const keep = capMask(["CAP_CHOWN", "CAP_KILL"]);
  const drop = capsToDrop(keep, LAST_CAP);
  assert.equal(drop.length, LAST_CAP + 1 - 2);
  assert.ok(!drop.includes(CAPABILITIES.CAP_CHOWN!) && !drop.includes(CAPABILITIES.CAP_KILL!));
  assert.deepEqual(capsToDrop(0n, 2), [0, 1, 2]);
  assert.deepEqual(capsToDrop((1n << BigInt(LAST_CAP + 1)) - 1n, LAST_CAP), []);
});

test("an unknown capability name is a ValidationError of the spec field, not a syscall failure", () => {
  assert.throws(() => capMask(["CAP_NOT_A_CAP"], "process.capabilities.bounding"), (e: unknown) => e instanceof ValidationError && e.field === "process.capabilities.bounding" && /CAP_NOT_A_CAP/.test(e.message));
});

test("only ambient capabilities in both permitted and inheritable are raised; each other one is warned about", () => {
  const warnings: string[] = [];
  const raised = raisableAmbient(
    { ambient: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"], permitted: ["CAP_CHOWN", "CAP_KILL"], inheritable: ["CAP_CHOWN", "CAP_NET_RAW"] },
    (m) => warnings.push(m),
  );
  assert.deepEqual(raised, ["CAP_CHOWN"]);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /^process\.capabilities\.ambient: CAP_KILL is not in both/);
  assert.match(warnings[1]!, /CAP_NET_RAW/);
  assert.deepEqual(raisableAmbient(undefined, () => assert.fail("no ambient set, no warning")), []);
});

test("dropBoundingSet leaves exactly the spec's bounding set (in a throwaway thread: the set is per thread)", { skip: needsRoot }, async () => {
  const modulePath = join(__dirname, "..", "..", "src", "runtime", "init", "capabilities.js");
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    const { dropBoundingSet } = require(workerData.modulePath);
    dropBoundingSet({ bounding: ["CAP_CHOWN", "CAP_KILL"] }, workerData.lastCap);
    parentPort.postMessage(require("node:fs").readFileSync("/proc/thread-self/status", "utf8"));`;
  const status = await new Promise<string>((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { modulePath, lastCap: LAST_CAP } });
    w.once("message", resolve);
    w.once("error", reject);
  });
  assert.equal(statusField(status, "CapBnd"), capMask(["CAP_CHOWN", "CAP_KILL"]).toString(16).padStart(16, "0"));
  assert.notEqual(statusField(readFileSync("/proc/thread-self/status", "utf8"), "CapBnd"), statusField(status, "CapBnd"), "the test's own thread keeps its set");
});

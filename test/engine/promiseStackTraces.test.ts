// The program preload that spares @pulumi/pulumi's promise-leak stacks the source-map formatter:
// only the stack debuggablePromise captures is left unformatted; every other stack still goes
// through the formatter the program installs, also after a save/set/restore of it; with
// PULUMI_DEBUG_PROMISE_LEAKS set nothing changes.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { testPrefix } from "../../fixtures/prefix";

const PRELOAD = require.resolve("../../src/engine/promiseStackTraces");

/** A stand-in for the SDK's runtime/debuggable.js, at a path ending like the real one. */
function fakeSdk(root: string): string {
  const dir = join(root, "node_modules", "@pulumi", "pulumi", "runtime");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "debuggable.js");
  writeFileSync(file, "exports.debuggablePromise = function debuggablePromise() { return new Error().stack; };\n");
  return file;
}

// Installs a formatter as source-map-support does, then prints what each kind of stack became.
const PROGRAM = `
const { debuggablePromise } = require(process.argv[1]);
Error.prepareStackTrace = (err, frames) => "FORMATTED " + frames.length;
const out = { user: new Error("boom").stack, promise: debuggablePromise() };
const saved = Error.prepareStackTrace;
Error.prepareStackTrace = (_, frames) => frames;
out.structured = Array.isArray(new Error().stack);
Error.prepareStackTrace = saved;
out.restored = new Error("again").stack;
out.promiseAfterRestore = debuggablePromise();
console.log(JSON.stringify(out));
`;

function run(sdkFile: string, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out = execFileSync(process.execPath, ["--require", PRELOAD, "-e", PROGRAM, sdkFile], { env, encoding: "utf8", timeout: 20_000 });
  return JSON.parse(out) as Record<string, unknown>;
}

test("promise-leak stacks are not formatted; every other stack keeps the program's formatter", () => {
  const root = join(tmpdir(), testPrefix("promise-stacks"));
  try {
    const sdk = fakeSdk(root);
    const env = { ...process.env };
    delete env.PULUMI_DEBUG_PROMISE_LEAKS;
    const out = run(sdk, env);
    assert.match(String(out.user), /^FORMATTED \d+$/);
    assert.match(String(out.promise), /stack not kept: set PULUMI_DEBUG_PROMISE_LEAKS/);
    assert.equal(out.structured, true, "a formatter set for a moment gets the structured frames");
    assert.match(String(out.restored), /^FORMATTED \d+$/, "the restored formatter is the program's, not a wrapper of it");
    assert.match(String(out.promiseAfterRestore), /stack not kept/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("with PULUMI_DEBUG_PROMISE_LEAKS set, promise-leak stacks are formatted as before", () => {
  const root = join(tmpdir(), testPrefix("promise-stacks"));
  try {
    const sdk = fakeSdk(root);
    const out = run(sdk, { ...process.env, PULUMI_DEBUG_PROMISE_LEAKS: "1" });
    assert.match(String(out.promise), /^FORMATTED \d+$/);
    assert.match(String(out.user), /^FORMATTED \d+$/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

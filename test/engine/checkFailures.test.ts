// A provider's check failure as a person sees it: `hostform preview` of a Cgroup whose memory max has
// an unknown unit names the field once ("memory.max: unknown unit"), not once per layer it crossed.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { testPrefix } from "../../fixtures/prefix";
import { describeFailures } from "../../src/engine/customStep";

const BUILD = join(__dirname, "..", "..");
const REPO = join(BUILD, "..");
const ENTRY = join(__dirname, "cliEntry.js");

function occurrences(text: string, word: string): number {
  return text.split(word).length - 1;
}

/** Runs `hostform <args> --cwd dir` of this build; resolves with everything it printed. */
function hostform(dir: string, state: string, ...args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [ENTRY, ...args, "--cwd", dir], {
    env: { ...process.env, HOSTFORM_STATE_DIR: state, PULUMI_NODEJS_TRANSPILE_ONLY: "true", HOSTFORM_PROGRAM_TIMEOUT_MS: "90000" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, out })));
}

test("preview of an invalid Cgroup limit prints the field path once, in the text display and in every --json event", async () => {
  const prefix = testPrefix("check-field");
  const base = join(tmpdir(), prefix);
  const dir = join(base, "p");
  try {
    mkdirSync(dir, { recursive: true });
    // "hostform" resolves (walking up from the program) to this build's providers; preview creates nothing.
    mkdirSync(join(base, "node_modules", "hostform"), { recursive: true });
    writeFileSync(join(base, "node_modules", "hostform", "package.json"), JSON.stringify({ name: "hostform", main: "index.js" }));
    writeFileSync(join(base, "node_modules", "hostform", "index.js"), `module.exports = require(${JSON.stringify(join(BUILD, "providers", "index.js"))});\n`);
    symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"));
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "check-field", devDependencies: { typescript: "*" } }));
    writeFileSync(join(dir, "Pulumi.yaml"), "name: checkfield\nruntime:\n  name: nodejs\n  options:\n    typescript: true\nmain: index.ts\n");
    writeFileSync(join(dir, "index.ts"), `import * as hf from "hostform";\nnew hf.Cgroup("cg", { name: ${JSON.stringify(`${prefix}-cg`)}, memory: { max: "1X" } });\n`);

    const text = await hostform(dir, join(base, "state"), "preview");
    assert.equal(text.code, 1, text.out);
    assert.match(text.out, /memory\.max: unknown unit/, text.out);
    assert.equal(occurrences(text.out, "memory.max"), 1, text.out);

    const json = await hostform(dir, join(base, "state"), "preview", "--json");
    assert.equal(json.code, 1, json.out);
    const messages = json.out
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { type: string; message?: string })
      .filter((e) => e.message?.includes("memory.max") === true);
    assert.ok(messages.some((e) => e.type === "step-failed"), json.out);
    for (const e of messages) assert.equal(occurrences(e.message ?? "", "memory.max"), 1, JSON.stringify(e));
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test("a check failure that names no property is shown by its reason alone", () => {
  assert.equal(describeFailures([{ property: "", reason: "busybox is not installed" }]), "busybox is not installed");
  assert.equal(describeFailures([{ property: "pids.max", reason: "must be a positive integer" }, { property: "name", reason: "too long" }]), "pids.max: must be a positive integer; name: too long");
});

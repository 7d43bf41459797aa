import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { followLog, readLog, rotateIfNeeded } from "../../src/runtime/logsFile";
import { logsCommand } from "../../src/cli/commands/logs";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { makeSupervisorFixture, until, type SupervisorFixture } from "./supervisorFixture";

let f: SupervisorFixture;

before(() => {
  if (needsRoot === false) f = makeSupervisorFixture("logs");
});

after(async () => {
  await f?.cleanup();
});

/** Runs a CLI command and returns what it printed. */
async function captureStdout(fn: () => Promise<number>): Promise<{ code: number; out: string }> {
  const chunks: string[] = [];
  const orig = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((c: string | Uint8Array) => {
    chunks.push(typeof c === "string" ? c : Buffer.from(c).toString("utf8"));
    return true;
  }) as typeof process.stdout.write;
  try {
    const code = await fn();
    return { code, out: chunks.join("") };
  } finally {
    process.stdout.write = orig;
  }
}

test("rotation keeps N files, tail reads across them", () => {
  const dir = mkdtempSync(join(tmpdir(), `${testPrefix("logrot")}-`));
  try {
    const log = join(dir, "container.log");
    for (let i = 0; i < 5; i++) {
      writeFileSync(log, `a${i}\nb${i}\n`);
      assert.equal(rotateIfNeeded(log, 3, 2), true);
      assert.equal(statSync(log).size, 0);
    }
    assert.equal(rotateIfNeeded(log, 3, 2), false, "under the cap: nothing to do");
    assert.ok(existsSync(`${log}.1`) && existsSync(`${log}.2`) && !existsSync(`${log}.3`));
    writeFileSync(log, "c\n");
    assert.equal(readLog(log, 2).toString(), "a3\nb3\na4\nb4\nc\n");
    assert.equal(readLog(log, 2, 2).toString(), "b4\nc\n");
    assert.equal(readLog(log, 2, 0).toString(), "");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a container's output is logged, capped and rotated while it runs", { skip: needsRoot }, async () => {
  const id = f.id("cap");
  const line = "x".repeat(60);
  await f.client.create(id, f.spec(["sh", "-c", `i=0; while [ $i -lt 60 ]; do echo "$i ${line}"; i=$((i+1)); sleep 0.05; done; echo done >&2`]), { logMaxBytes: 1000, logFiles: 2 });
  const s = await f.client.start(id);
  await f.client.wait(id);
  assert.ok(existsSync(`${s.logPath}.1`), "rotated at least once");
  assert.ok(!existsSync(`${s.logPath}.3`), "at most logFiles rotated files");
  for (const p of [s.logPath, `${s.logPath}.1`]) assert.ok(statSync(p).size < 1000 + 64 * 30, `${p} stays near the cap`);
  const all = readLog(s.logPath, 2).toString();
  assert.match(all, /done\n$/, "stderr goes to the same log");
  const { code, out } = await captureStdout(() => logsCommand.run(["--tail", "2", id]));
  assert.equal(code, 0);
  assert.equal(out, `59 ${line}\ndone\n`);
  await f.client.delete(id);
});

test("logs -f follows new output until the container stops", { skip: needsRoot }, async () => {
  const id = f.id("follow");
  await f.client.create(id, f.spec(["sh", "-c", "echo first; sleep 1; echo second; sleep 0.5; echo third"]));
  const s = await f.client.start(id);
  assert.ok(await until(() => existsSync(s.logPath) && readFileSync(s.logPath, "utf8").includes("first")));
  const { code, out } = await captureStdout(() => logsCommand.run(["-f", id]));
  assert.equal(code, 0);
  assert.equal(out, "first\nsecond\nthird\n");
  // followLog on its own, stopped by the caller.
  const got: string[] = [];
  await followLog(s.logPath, 0, (c) => got.push(c.toString()), () => got.join("").includes("third"), 50);
  assert.equal(got.join(""), "first\nsecond\nthird\n");
  await f.client.delete(id);
});

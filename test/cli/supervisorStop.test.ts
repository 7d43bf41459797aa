// `hostform supervisor stop` (issue 17, item 5): the supervisor of the run dir ends, its
// containers run on, and a second stop finds nothing to stop.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RuntimeClient } from "../../src/runtime/client";
import { isPidAlive } from "../../src/sys/pidAlive";
import { needsRoot, testPrefix } from "../../fixtures/prefix";

const bin = join(__dirname, "..", "..", "..", "bin", "hostform");
const runDir = join(tmpdir(), `${testPrefix("supstop")}-run`);

after(async () => {
  await new RuntimeClient({ runDir }).shutdownSupervisor().catch(() => undefined);
  rmSync(runDir, { recursive: true, force: true });
});

/** Runs the command without blocking this process: the supervisor it started is its child, reaped by its event loop. */
async function stop(): Promise<string> {
  const r = await promisify(execFile)(process.execPath, [bin, "supervisor", "stop"], { encoding: "utf8", env: { ...process.env, HOSTFORM_RUN_DIR: runDir }, timeout: 60_000 });
  return r.stdout;
}

test("supervisor stop ends the run dir's supervisor; a second stop has nothing to stop", { skip: needsRoot }, async () => {
  process.env.HOSTFORM_RUN_DIR = runDir;
  const pid = await new RuntimeClient({ runDir }).supervisorPid();
  assert.ok(isPidAlive(pid));
  const t0 = Date.now();
  assert.equal(await stop(), `supervisor ${pid} stopped\n`);
  assert.ok(Date.now() - t0 < 9_000, "it did not wait out its 10 s limit for the exit");
  assert.equal(isPidAlive(pid), false);
  assert.equal(await stop(), "no supervisor runs\n");
});

// `hostform stats --stream` (issue 17, item 5): a sample every second until interrupted, as docker
// stats does; --no-stream (the default) is one sample.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RuntimeClient } from "../../src/runtime/client";
import { needsRoot, testPrefix } from "../../fixtures/prefix";

const bin = join(__dirname, "..", "..", "..", "bin", "hostform");
const runDir = join(tmpdir(), `${testPrefix("stats")}-run`);

after(async () => {
  await new RuntimeClient({ runDir }).shutdownSupervisor().catch(() => undefined);
  rmSync(runDir, { recursive: true, force: true });
});

/** Runs `hostform stats ...args`, interrupting it after ms when given; returns its exit code and stdout lines. */
function stats(args: string[], interruptAfterMs?: number): Promise<{ code: number | null; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "stats", ...args], { env: { ...process.env, HOSTFORM_RUN_DIR: runDir }, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    const timer = interruptAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGINT"), interruptAfterMs);
    child.on("error", reject);
    child.on("close", (code) => {
      if (timer !== undefined) clearTimeout(timer);
      resolve({ code, lines: out.trim().split("\n").filter((l) => l !== "") });
    });
  });
}

test("stats --stream --json samples about once a second until SIGINT; --no-stream samples once", { skip: needsRoot, timeout: 120_000 }, async () => {
  const once = await stats(["--no-stream", "--json"]);
  assert.equal(once.code, 0);
  assert.ok(Array.isArray(JSON.parse(once.lines.join("\n"))));
  const streamed = await stats(["--stream", "--json"], 6_000);
  assert.equal(streamed.code, 0, "an interrupt ends it cleanly");
  assert.ok(streamed.lines.length >= 2, `samples: ${streamed.lines.length}`);
  for (const l of streamed.lines) assert.ok(Array.isArray(JSON.parse(l)), l);
});

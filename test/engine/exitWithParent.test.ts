import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, test } from "node:test";
import { EXIT_WITH_PARENT } from "../../src/engine/processGroups";

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `script` under the preload with stdin a pipe the test holds, the way the engine starts
 * programs and provider hosts; `closeStdinAfterMs` ends the engine's side of the pipe.
 */
function runWithPreload(script: string, closeStdinAfterMs?: number): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--require", EXIT_WITH_PARENT, "-e", script], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    let closer: NodeJS.Timeout | undefined;
    if (closeStdinAfterMs !== undefined) closer = setTimeout(() => child.stdin.end(), closeStdinAfterMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(killer);
      if (closer) clearTimeout(closer);
      child.stdin.destroy();
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe("exitWithParent preload", () => {
  test("a worker thread of a preloaded process runs and reports after 200 ms", async () => {
    // The worker inherits the process's execArgv, so the preload runs inside it too.
    const script = `
      const { Worker } = require("node:worker_threads");
      const w = new Worker("setTimeout(() => require('node:worker_threads').parentPort.postMessage('report'), 200)", { eval: true });
      w.on("message", (m) => { console.log("got " + m); process.exit(0); });
      w.on("exit", (c) => { console.log("worker exit " + c); process.exit(3); });
    `;
    const r = await runWithPreload(script);
    assert.equal(r.stdout.trim(), "got report", `stdout: ${r.stdout} stderr: ${r.stderr}`);
    assert.equal(r.code, 0);
  });

  test("a process whose stdin pipe closes exits with 1", async () => {
    // Would run forever without the preload.
    const r = await runWithPreload("setInterval(() => {}, 1000); console.log('serving')", 300);
    assert.equal(r.stdout.trim(), "serving");
    assert.equal(r.code, 1);
  });

  test("a finished program is not kept alive by the open pipe", async () => {
    const r = await runWithPreload("console.log('done')");
    assert.equal(r.stdout.trim(), "done");
    assert.equal(r.code, 0);
  });
});

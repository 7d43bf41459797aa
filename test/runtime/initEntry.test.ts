// The init's modules only define things: the entry file alone runs the init, so each subsystem can
// be imported by a test (or a tool) without a process talking on fd 3 or exiting.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { Socket } from "node:net";
import { INIT_ENTRY_PATH } from "../../src/runtime/initProtocol";

const INIT_DIR = join(__dirname, "..", "..", "src", "runtime", "init");

/** Runs node requiring `files`, with fd 3 a socket as the init has; ends it on the first line seen. */
function requireAll(files: string[]): Promise<{ code: number | null; fd3: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ["-e", "for (const f of process.argv.slice(1)) require(f)", ...files], { stdio: ["ignore", "ignore", "pipe", "pipe"] });
    let fd3 = "";
    let stderr = "";
    const sock = c.stdio[3] as Socket;
    sock.setEncoding("utf8").on("data", (d: string) => {
      fd3 += d;
      // A running init waits for a request: EOF makes it exit.
      if (fd3.includes("\n")) sock.end();
    });
    c.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    c.on("error", reject);
    c.on("exit", (code) => resolve({ code, fd3, stderr }));
  });
}

test("importing every init module runs nothing; the entry file runs the init", async () => {
  const modules = readdirSync(INIT_DIR).filter((f) => f.endsWith(".js") && f !== "entry.js").map((f) => join(INIT_DIR, f));
  assert.ok(modules.length >= 10, `init modules in ${INIT_DIR}: ${modules.length}`);
  const quiet = await requireAll(modules);
  assert.deepEqual(quiet, { code: 0, fd3: "", stderr: "" });
  const entry = await requireAll([INIT_ENTRY_PATH]);
  assert.equal(entry.fd3, '{"kind":"ready"}\n');
  assert.equal(entry.code, 0, entry.stderr);
});

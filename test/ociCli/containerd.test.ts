// containerd (Debian's 1.6) and its runc shim driving the OCI runtime through ctr, under runc and
// under hostform-runtime with the same assertions (issue 15, items 4 and 5). containerd, its store,
// sockets and namespace are private to this file (fixtures/ociClients/containerd.ts).
import { after, before } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { missingPrograms, type CommandResult } from "../../fixtures/ociClients/command";
import { startContainerd, type Containerd } from "../../fixtures/ociClients/containerd";
import type { RuntimeName } from "../../fixtures/ociClients/runtimeLauncher";
import { eachRuntime } from "./runtimeMatrix";

const skipReason = (): string | false => needsRoot || missingPrograms(["containerd", "ctr", "containerd-shim-runc-v2", "runc", "script", "busybox"]);
let containerd: Containerd | undefined;
let setupError: unknown;

before(async () => {
  if (skipReason() !== false) return;
  try {
    containerd = await startContainerd(testPrefix("ctd"));
  } catch (err) {
    setupError = err;
  }
});

after(async () => {
  await containerd?.cleanup();
});

function fixture(): Containerd {
  if (containerd === undefined) throw new Error("containerd fixture was not set up", { cause: setupError });
  return containerd;
}

function explain(r: CommandResult, runtime: RuntimeName): string {
  const argv = fixture().launcher(runtime).argvLines().slice(-6).join("\n  ");
  return `rc ${r.code}\nstdout: ${r.out}\nstderr: ${r.err}\nlast runtime calls:\n  ${argv}`;
}

let seq = 0;

/** One scenario under each runtime; the shim must really have called it, and its container goes after. */
function scenario(name: string, body: (c: Containerd, runtime: RuntimeName, id: string) => Promise<void>): void {
  eachRuntime(name, { skip: skipReason, timeoutMs: 45_000 }, async (runtime) => {
    const c = fixture();
    const calls = c.launcher(runtime).argvLines().length;
    const id = `c${seq++}-${runtime}`;
    try {
      await body(c, runtime, id);
      const created = c.launcher(runtime).argvLines().slice(calls).filter((l) => / create --bundle /.test(` ${l}`));
      assert.ok(created.length > 0, `the shim did not call ${runtime} create`);
    } finally {
      // Failures here are the file's cleanup's business (it removes everything and reports leftovers).
      await c.ctr(["task", "delete", "--force", id]);
      await c.ctr(["containers", "delete", id]);
    }
  });
}

/** The task's status column in `ctr task ls` ("" when there is no task). */
async function taskStatus(c: Containerd, id: string): Promise<string> {
  const row = (await c.ctr(["task", "ls"])).out.split("\n").find((l) => l.split(/\s+/)[0] === id);
  return row?.trim().split(/\s+/)[2] ?? "";
}

async function until(what: () => Promise<boolean>, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await what()) return true;
    await delay(50);
  }
  return what();
}

scenario("ctr run in the foreground: the program's output and exit status reach ctr", async (c, rt, id) => {
  const r = await c.ctr(["run", "--rm", ...c.runFlags(rt, id), c.image, id, "sh", "-c", "echo hi; exit 3"]);
  assert.equal(r.code, 3, explain(r, rt));
  assert.equal(r.out, "hi\n", explain(r, rt));
});

scenario("ctr run -d, then task exec, exec -t, ps, pause, resume, kill -s SIGKILL (137) and delete", async (c, rt, id) => {
  let r = await c.ctr(["run", "-d", ...c.runFlags(rt, id), c.image, id, "sleep", "1000"]);
  assert.equal(r.code, 0, explain(r, rt));
  assert.equal(await taskStatus(c, id), "RUNNING");

  r = await c.ctr(["task", "exec", "--fifo-dir", c.fifoDir, "--exec-id", "e1", id, "sh", "-c", "echo in-exec; exit 4"]);
  assert.equal(r.code, 4, explain(r, rt));
  assert.equal(r.out, "in-exec\n", explain(r, rt));
  r = await c.ctrInTerminal(["task", "exec", "-t", "--fifo-dir", c.fifoDir, "--exec-id", "e2", id, "sh", "-c", 'echo "tty=$(tty)"']);
  assert.equal(r.code, 0, explain(r, rt));
  // What script(1) shows is the outer terminal too: after the program's line ctr may log that it
  // could not resize the pty of a process that had exited.
  assert.match(r.out, /tty=\/dev\/pts\/0\r\r?\n/, explain(r, rt));

  const initPid = (await c.ctr(["task", "ls"])).out.split("\n").find((l) => l.startsWith(`${id} `))?.trim().split(/\s+/)[1];
  r = await c.ctr(["task", "ps", id]);
  assert.equal(r.code, 0, explain(r, rt));
  assert.deepEqual(r.out.trim().split("\n").slice(1).map((l) => l.split(/\s+/)[0]), [initPid], explain(r, rt));

  r = await c.ctr(["task", "pause", id]);
  assert.equal(r.code, 0, explain(r, rt));
  assert.equal(await taskStatus(c, id), "PAUSED");
  r = await c.ctr(["task", "resume", id]);
  assert.equal(r.code, 0, explain(r, rt));
  assert.equal(await taskStatus(c, id), "RUNNING");

  r = await c.ctr(["task", "kill", "--signal", "SIGKILL", id]);
  assert.equal(r.code, 0, explain(r, rt));
  assert.ok(await until(async () => (await taskStatus(c, id)) === "STOPPED"), `task ${id} did not stop: ${await taskStatus(c, id)}`);
  r = await c.ctr(["task", "delete", id]);
  assert.equal(r.code, 0, explain(r, rt));
  // ctr reports a task's non-zero exit status only as this warning.
  assert.match(r.err, /exit code 137\b/, explain(r, rt));
  assert.equal(await taskStatus(c, id), "");
  r = await c.ctr(["containers", "delete", id]);
  assert.equal(r.code, 0, explain(r, rt));
  assert.ok(!(await c.ctr(["containers", "ls", "-q"])).out.split("\n").includes(id));
});

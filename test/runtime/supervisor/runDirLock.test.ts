// The run dir's lock against real processes: a live holder is respected, a dead one (or a reused
// pid) is taken over, and release never removes someone else's lock.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { processStartTime } from "../../../src/runtime/state";
import { RunDirLock } from "../../../src/runtime/supervisor/runDirLock";
import { testPrefix } from "../../../fixtures/prefix";

const dir = mkdtempSync(join(tmpdir(), `${testPrefix("lock")}-`));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const lockPath = () => join(dir, `supervisor-${n++}.lock`);
const content = (path: string) => readFileSync(path, "utf8").trim();

/** A live process that is not this one, killed when fn is done. */
async function withOtherProcess(fn: (pid: number, startTime: number) => void | Promise<void>): Promise<void> {
  const child = spawn("sleep", ["30"], { stdio: "ignore" });
  try {
    const pid = child.pid!;
    let start: number | undefined;
    for (let i = 0; i < 100 && start === undefined; i++) start = processStartTime(pid);
    await fn(pid, start!);
  } finally {
    child.kill("SIGKILL");
  }
}

test("a free lock is taken: the file names this process and its start time; release removes it", () => {
  const path = lockPath();
  const lock = new RunDirLock(path);
  assert.equal(lock.acquire(), true);
  assert.equal(content(path), `${process.pid} ${processStartTime(process.pid)}`);
  assert.equal(new RunDirLock(path).acquire(), false, "a second taker loses while the holder lives");
  lock.release();
  assert.equal(existsSync(path), false);
  assert.deepEqual(readdirTmp(), [], "no temporary file left");
});

test("a live holder's lock is respected and left as it is", async () => {
  await withOtherProcess((pid, start) => {
    const path = lockPath();
    writeFileSync(path, `${pid} ${start}\n`);
    assert.equal(new RunDirLock(path).acquire(), false);
    assert.equal(content(path), `${pid} ${start}`);
    new RunDirLock(path).release();
    assert.equal(content(path), `${pid} ${start}`, "release leaves a lock this process does not hold");
  });
});

test("the lock of a dead holder is taken over", () => {
  const dead = spawnSync("true").pid;
  const path = lockPath();
  writeFileSync(path, `${dead} 12345\n`);
  assert.equal(new RunDirLock(path).acquire(), true);
  assert.equal(content(path), `${process.pid} ${processStartTime(process.pid)}`);
});

test("a pid reused by another process (other start time) does not hold the lock", async () => {
  await withOtherProcess((pid, start) => {
    const path = lockPath();
    writeFileSync(path, `${pid} ${start + 1}\n`);
    assert.equal(new RunDirLock(path).acquire(), true);
    assert.equal(content(path), `${process.pid} ${processStartTime(process.pid)}`);
  });
});

test("a lock file without a holder in it is stale", () => {
  const path = lockPath();
  writeFileSync(path, "garbage\n");
  assert.equal(new RunDirLock(path).acquire(), true);
});

function readdirTmp(): string[] {
  return readdirSync(dir).filter((f) => f.endsWith(".tmp"));
}

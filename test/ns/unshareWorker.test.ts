import { test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import * as libc from "../../src/sys/libc";
import { CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWUSER, CLONE_NEWUTS } from "../../src/sys/constants";
import { SysError } from "../../src/sys/errors";
import { unshareInWorker } from "../../src/ns";
import { pinNamespace } from "../../src/ns/pin";
import { needsRoot } from "../../fixtures/prefix";

test("unshare on a worker thread leaves the main thread in the host's namespaces", { skip: needsRoot }, async () => {
  const mainNet = statSync(`/proc/self/task/${libc.gettid()}/ns/net`).ino;
  const thread = await unshareInWorker({ flags: CLONE_NEWNET | CLONE_NEWUTS });
  try {
    assert.notEqual(thread.tid, libc.gettid());
    assert.notEqual(statSync(thread.nsPath("net")).ino, mainNet);
    assert.equal(statSync(`/proc/self/task/${libc.gettid()}/ns/net`).ino, mainNet);
  } finally {
    await thread.release();
  }
  assert.throws(() => statSync(`/proc/self/task/${thread.tid}`), /ENOENT/, "the thread has exited");
});

test("a process spawned from the unshared thread is PID 1 of the new PID namespace", { skip: needsRoot }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "hostform-test-ns-worker-"));
  try {
    const out = join(dir, "out");
    const fd = openSync(out, "w");
    let thread;
    try {
      thread = await unshareInWorker({
        flags: CLONE_NEWPID | CLONE_NEWNET,
        spawn: { command: "/bin/sh", args: ["-c", "echo $$; readlink /proc/self/ns/net"], stdio: ["ignore", fd, "ignore"] },
      });
      await thread.release();
    } finally {
      closeSync(fd);
    }
    assert.ok(thread.childPid !== undefined && thread.childPid > 1);
    let text = "";
    for (let i = 0; i < 200 && !text.includes("\n", text.indexOf("\n") + 1); i++) {
      await delay(10);
      text = readFileSync(out, "utf8");
    }
    const [pid, net] = text.trim().split("\n");
    assert.equal(pid, "1");
    assert.notEqual(net, `net:[${statSync("/proc/self/ns/net").ino}]`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a failing step rejects with the worker's SysError", { skip: needsRoot }, async () => {
  // unshare(CLONE_NEWUSER) is refused in any multi-threaded process.
  await assert.rejects(unshareInWorker({ flags: CLONE_NEWUSER }), (err: unknown) => {
    assert.ok(err instanceof SysError);
    assert.equal(err.syscall, "unshare");
    assert.equal(err.code, "EINVAL");
    return true;
  });
  await assert.rejects(unshareInWorker({ flags: CLONE_NEWNET, spawn: { command: "/nonexistent/hostform-test" } }), (err: unknown) => {
    assert.ok(err instanceof SysError, String(err));
    assert.equal(err.code, "ENOENT");
    return true;
  });
});

test("a failed pin names what it pinned and leaves no file", { skip: needsRoot }, () => {
  const dir = mkdtempSync(join(tmpdir(), "hostform-test-ns-pin-"));
  try {
    const target = join(dir, "net");
    // A regular file is no nsfs file, but bind-mounting it works; a missing source does not.
    writeFileSync(join(dir, "x"), "");
    assert.throws(() => pinNamespace("/proc/self/ns/nonexistent", target, `pin net namespace of t at ${target}`), (err: unknown) => {
      assert.ok(err instanceof SysError);
      assert.equal(err.code, "ENOENT");
      assert.equal(err.message, `pin net namespace of t at ${target}: mount ${target}: ENOENT (no such file or directory)`);
      return true;
    });
    assert.throws(() => statSync(target), /ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

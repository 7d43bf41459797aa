import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as libc from "../../src/sys/libc";
import { SysError, ValidationError, errnoName, hasCode } from "../../src/sys/errors";
import { MS_BIND, MNT_DETACH, RLIMITS } from "../../src/sys/constants";
import { needsRoot } from "../../fixtures/prefix";

test("errnoName maps kernel numbers to names", () => {
  assert.equal(errnoName(1), "EPERM");
  assert.equal(errnoName(2), "ENOENT");
  assert.equal(errnoName(16), "EBUSY");
  assert.equal(errnoName(9999), "E9999");
});

test("a failed call throws SysError carrying errno, syscall and path", () => {
  const target = "/nonexistent/hostform-test-target";
  assert.throws(
    () => libc.mount("/", target, null, MS_BIND),
    (err: unknown) => {
      assert.ok(err instanceof SysError);
      assert.equal(err.code, "ENOENT");
      assert.equal(err.errno, 2);
      assert.equal(err.syscall, "mount");
      assert.equal(err.path, target);
      assert.match(err.message, /^mount \/nonexistent\/hostform-test-target: ENOENT/);
      assert.ok(hasCode(err, "ENOENT"));
      return true;
    },
  );
});

test("ValidationError names the field and the fix", () => {
  const e = new ValidationError("memory.max", "'12Q' is not a size", "use a number with a unit such as 256Mi");
  assert.equal(e.field, "memory.max");
  assert.equal(e.message, "memory.max: '12Q' is not a size (use a number with a unit such as 256Mi)");
});

test("prlimit reads the limits of this process as /proc reports them", () => {
  const lim = libc.prlimit(process.pid, RLIMITS.RLIMIT_NOFILE!);
  const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"))!;
  const [soft, hard] = line.trim().split(/\s{2,}/).slice(1, 3).map((v) => (v === "unlimited" ? Infinity : Number(v)));
  assert.deepEqual(lim, { soft, hard });
});

test("capget reads the calling thread's capabilities as /proc reports them", () => {
  const caps = libc.capget();
  const status = readFileSync(`/proc/self/task/${libc.gettid()}/status`, "utf8");
  const eff = /CapEff:\s*([0-9a-f]+)/.exec(status)![1]!;
  assert.equal(caps.effective, BigInt(`0x${eff}`));
  assert.throws(() => libc.capMask(["CAP_NOT_A_CAP"]), /CAP_NOT_A_CAP/);
  assert.equal(libc.capMask(["CAP_CHOWN", "CAP_SYS_ADMIN"]), (1n << 0n) | (1n << 21n));
});

test("pidfd_open of a dead pid fails with ESRCH; of a live one returns a descriptor", () => {
  assert.throws(() => libc.pidfdOpen(0x3fffff), (e: unknown) => e instanceof SysError && e.code === "ESRCH");
  const fd = libc.pidfdOpen(process.pid);
  assert.ok(fd > 2);
});

test("mount and umount2 bind a file for real", { skip: needsRoot }, () => {
  const dir = mkdtempSync(join(tmpdir(), "hostform-test-sys-"));
  try {
    writeFileSync(join(dir, "a"), "source");
    writeFileSync(join(dir, "b"), "target");
    libc.mount(join(dir, "a"), join(dir, "b"), null, MS_BIND);
    try {
      assert.equal(readFileSync(join(dir, "b"), "utf8"), "source");
    } finally {
      libc.umount2(join(dir, "b"), MNT_DETACH);
    }
    assert.equal(readFileSync(join(dir, "b"), "utf8"), "target");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isNullRdev, openNullDevice } from "../../src/runtime/init/devices";
import { testPrefix } from "../../fixtures/prefix";

test("isNullRdev knows char device 1:3 from its neighbours", () => {
  assert.equal(isNullRdev(statSync("/dev/null").rdev), true);
  assert.equal(isNullRdev(statSync("/dev/zero").rdev), false);
  assert.equal(isNullRdev(statSync("/dev/full").rdev), false);
  assert.equal(isNullRdev(statSync("/dev/tty").rdev), false);
});

test("openNullDevice opens only a real null device: not a file, link, fifo (without blocking) or other device", (t) => {
  const fd = openNullDevice("/dev/null");
  assert.equal(typeof fd, "number");
  closeSync(fd!);
  const dir = mkdtempSync(join(tmpdir(), `${testPrefix("nulldev")}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "file"), "");
  symlinkSync("/dev/null", join(dir, "link"));
  assert.equal(spawnSync("mkfifo", [join(dir, "fifo")]).status, 0);
  for (const name of ["file", "link", "fifo", "missing"]) assert.equal(openNullDevice(join(dir, name)), undefined, name);
  assert.equal(openNullDevice("/dev/zero"), undefined);
});

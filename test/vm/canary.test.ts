// Runs first and last in every test:v2 guest: proves the tests really ran under pure cgroup v2, and,
// with HOSTFORM_VM_CANARY_FAIL=1, fails on purpose to show that a failing test fails npm run test:v2.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

test("the guest is a pure cgroup v2 kernel with the memory controller", () => {
  const cmdline = readFileSync("/proc/cmdline", "utf8");
  assert.match(cmdline, /(^|\s)cgroup_no_v1=all(\s|$)/, `not booted with cgroup_no_v1=all: ${cmdline}`);
  const controllers = readFileSync("/sys/fs/cgroup/cgroup.controllers", "utf8").trim().split(/\s+/);
  assert.ok(controllers.includes("memory"), `cgroup2 root has no memory controller: ${controllers.join(" ")}`);
  const v1 = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => / - cgroup /.test(l));
  assert.deepEqual(v1, [], "a cgroup v1 hierarchy is mounted");
});

test("HOSTFORM_VM_CANARY_FAIL=1 makes this test fail", () => {
  assert.notEqual(process.env.HOSTFORM_VM_CANARY_FAIL, "1", "deliberate failure requested by HOSTFORM_VM_CANARY_FAIL=1");
});

// Runs last in every test:v2 guest: proves the tests really ran under pure cgroup v2 on a kernel that
// loads its modules on demand, and, with HOSTFORM_VM_CANARY_FAIL=1, fails on purpose to show that a
// failing test fails npm run test:v2.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";

test("the guest is a pure cgroup v2 kernel with the memory controller", () => {
  const cmdline = readFileSync("/proc/cmdline", "utf8");
  assert.match(cmdline, /(^|\s)cgroup_no_v1=all(\s|$)/, `not booted with cgroup_no_v1=all: ${cmdline}`);
  const controllers = readFileSync("/sys/fs/cgroup/cgroup.controllers", "utf8").trim().split(/\s+/);
  assert.ok(controllers.includes("memory"), `cgroup2 root has no memory controller: ${controllers.join(" ")}`);
  const v1 = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => / - cgroup /.test(l));
  assert.deepEqual(v1, [], "a cgroup v1 hierarchy is mounted");
});

// The network tests need bridge, veth and a dozen netfilter modules the initramfs does not carry. dummy
// is one nothing else here loads: a link of that type can only be made if the kernel ran modprobe for
// it, in a network namespace that lives as long as the unshare (so no link outlives the test).
test("the guest kernel loads modules on demand, as the network tests need", () => {
  const link = `hf${randomBytes(4).toString("hex")}`;
  const r = spawnSync("unshare", ["--net", "--", "ip", "link", "add", link, "type", "dummy"], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, `ip link add ${link} type dummy in a new network namespace: ${r.stdout}${r.stderr}${r.error?.message ?? ""}`);
  assert.ok(existsSync("/sys/module/dummy"), "the dummy module is not loaded");
});

test("HOSTFORM_VM_CANARY_FAIL=1 makes this test fail", () => {
  assert.notEqual(process.env.HOSTFORM_VM_CANARY_FAIL, "1", "deliberate failure requested by HOSTFORM_VM_CANARY_FAIL=1");
});

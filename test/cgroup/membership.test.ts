// /proc/<pid>/cgroup parsing, the directories of a process's cgroups, and the one add-process call.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { openCgroupDriver } from "../../src/cgroup/driver";
import { detectLayout } from "../../src/cgroup/layout";
import { cgroupDirOf, cgroupDirsOf, cgroupsOf, parseProcCgroup } from "../../src/cgroup/membership";
import { cgroupPathIn } from "../../src/cgroup/hierarchies";
import { NotFoundError } from "../../src/sys/errors";
import { needsRoot, testPrefix } from "../../fixtures/prefix";

test("parseProcCgroup reads v2, v1 and named hierarchies", () => {
  const m = parseProcCgroup("12:pids:/a\n4:cpu,cpuacct:/b/c\n1:name=systemd:/s\n0::/u:with:colons\n");
  assert.deepEqual(m, [
    { hierarchyId: 12, controllers: ["pids"], path: "/a" },
    { hierarchyId: 4, controllers: ["cpu", "cpuacct"], path: "/b/c" },
    { hierarchyId: 1, controllers: [], name: "systemd", path: "/s" },
    { hierarchyId: 0, controllers: [], path: "/u:with:colons" },
  ]);
  assert.equal(cgroupPathIn({ name: "cpu,cpuacct", type: "cgroup", data: "xattr,cpuacct,cpu" }, m), "/b/c");
  assert.equal(cgroupPathIn({ name: "systemd", type: "cgroup", data: "xattr,name=systemd" }, m), "/s");
  assert.equal(cgroupPathIn({ name: "unified", type: "cgroup2", data: "" }, m), "/u:with:colons");
  assert.equal(cgroupPathIn({ name: "memory", type: "cgroup", data: "memory" }, m), undefined);
});

test("cgroupsOf a process that is gone is a NotFoundError", () => {
  assert.throws(() => cgroupsOf(2 ** 22 + 1), (e: unknown) => e instanceof NotFoundError && e.kind === "process");
});

test("cgroupDirOf takes a directory or its cgroup.procs file", () => {
  assert.equal(cgroupDirOf("/sys/fs/cgroup/x/cgroup.procs"), "/sys/fs/cgroup/x");
  assert.equal(cgroupDirOf("/sys/fs/cgroup/x"), "/sys/fs/cgroup/x");
});

test("addProcess puts a process in the cgroup in every hierarchy; contains and cgroupDirsOf see it", { skip: needsRoot }, async (t) => {
  const driver = openCgroupDriver();
  const name = testPrefix("member");
  const child = spawn("sleep", ["30"], { stdio: "ignore" });
  t.after(async () => {
    child.kill("SIGKILL");
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once("exit", r)));
    await driver.delete(name);
  });
  driver.create(name);
  const pid = child.pid ?? 0;
  assert.equal(driver.contains(name, pid), false);
  await driver.addProcess(name, pid);
  assert.equal(driver.contains(name, pid), true);
  const paths = driver.paths(name);
  const want = new Set([...Object.values(paths.v1), ...(paths.v2 !== undefined ? [paths.v2] : [])]);
  for (const dir of want) assert.ok(cgroupDirsOf(pid, detectLayout()).includes(dir), `${dir} in cgroupDirsOf`);
  await assert.rejects(driver.addProcess(`${name}-absent`, pid), (e: unknown) => e instanceof Error && /add process \d+ to cgroup .*-absent: .*cgroup\.procs: ENOENT/.test(e.message));
  assert.equal(existsSync(join(paths.v2 ?? Object.values(paths.v1)[0] ?? "/nonexistent", "..", `${name}-absent`)), false);
});

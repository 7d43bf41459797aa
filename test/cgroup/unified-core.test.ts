// cgroup2 core files for real (on this hybrid host: /sys/fs/cgroup/unified, which has no controllers):
// cgroup.procs, cgroup.events populated, cgroup.freeze, cgroup.kill, nested names, delete.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { openCgroupDriver } from "../../src/cgroup/driver";
import { detectLayout } from "../../src/cgroup/layout";
import { TimeoutError } from "../../src/sys/errors";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { spawnWaiting, type WaitingChild } from "./children";

const layout = detectLayout();
const skip = needsRoot || (layout.unifiedMount === undefined ? "no cgroup2 hierarchy mounted (pure cgroup v1 host)" : false);
const driver = openCgroupDriver();

function scratch(t: { after(fn: () => Promise<void>): void }, what: string): { name: string; kids: WaitingChild[] } {
  const name = testPrefix(what);
  const kids: WaitingChild[] = [];
  t.after(async () => {
    for (const c of kids) await c.stop();
    await driver.delete(name);
  });
  return { name, kids };
}

const events = (dir: string) => readFileSync(join(dir, "cgroup.events"), "utf8");

test("hybrid hosts create the cgroup in the unified hierarchy too; procs and populated come from it", { skip }, async (t) => {
  const { name, kids } = scratch(t, "v2-procs");
  driver.create(name);
  const dir = driver.paths(name).v2!;
  assert.equal(dir, join(layout.unifiedMount!, "hostform", name));
  assert.match(events(dir), /^populated 0$/m);
  assert.equal(driver.populated(name), false);
  const c = spawnWaiting("sleep 30");
  kids.push(c);
  await driver.addProcess(name, c.pid);
  assert.deepEqual(driver.procs(name), [c.pid]);
  assert.match(events(dir), /^populated 1$/m);
  assert.ok(driver.populated(name));
  // /proc/<pid>/cgroup lists the unified path on the "0::" line, and every v1 hierarchy.
  const cg = readFileSync(`/proc/${c.pid}/cgroup`, "utf8");
  assert.match(cg, new RegExp(`^0::/hostform/${name}$`, "m"));
  if (layout.mode === "hybrid") assert.match(cg, new RegExp(`:memory:/hostform/${name}$`, "m"));
});

test("cgroup.freeze stops the tasks and cgroup.events reports frozen; thaw resumes", { skip }, async (t) => {
  const { name, kids } = scratch(t, "v2-freeze");
  driver.create(name);
  const dir = driver.paths(name).v2!;
  const c = spawnWaiting("while :; do :; done");
  kids.push(c);
  await driver.addProcess(name, c.pid);
  c.go();
  await driver.freeze(name);
  assert.match(events(dir), /^frozen 1$/m);
  const ticks = () => Number(readFileSync(`/proc/${c.pid}/stat`, "utf8").split(") ")[1]!.split(" ")[11]);
  const before = ticks();
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(ticks(), before, "a frozen task uses no cpu");
  await driver.thaw(name);
  assert.match(events(dir), /^frozen 0$/m);
});

test("kill: SIGKILL through cgroup.kill reaches nested cgroups; other signals through freeze/signal/thaw", { skip }, async (t) => {
  const { name, kids } = scratch(t, "v2-kill");
  driver.create(`${name}/a/b`);
  const outer = spawnWaiting("sleep 30");
  const inner = spawnWaiting("sleep 30 & wait");
  const termed = spawnWaiting("trap 'exit 7' TERM; echo trapped >&2; while :; do sleep 0.05; done");
  kids.push(outer, inner, termed);
  // Leaves only: on v2 a cgroup whose children have controllers cannot hold processes itself (EBUSY).
  driver.create(`${name}/o`);
  await driver.addProcess(`${name}/o`, outer.pid);
  await driver.addProcess(`${name}/a/b`, inner.pid);
  inner.go();
  driver.create(`${name}/t`);
  await driver.addProcess(`${name}/t`, termed.pid);
  // SIGTERM before the shell set its trap would kill it outright: wait until it says so (a fixed
  // pause is too short under emulation, see test/vm).
  const trapped = new Promise<void>((resolve) => termed.child.stderr!.once("data", () => resolve()));
  termed.go();
  await trapped;
  await driver.kill(`${name}/t`, "SIGTERM");
  assert.equal((await termed.exited).code, 7);
  await driver.kill(name);
  assert.equal((await outer.exited).signal, "SIGKILL");
  assert.equal((await inner.exited).signal, "SIGKILL");
  assert.equal(driver.populated(name), false);
  // Deleting the outer name removes the nested levels first.
  await driver.delete(name);
  assert.equal(existsSync(driver.paths(name).v2!), false);
  assert.equal(driver.exists(name), false);
  await driver.delete(name); // gone is success
});

test("delete waits for processes, then fails with a TimeoutError naming them when they stay", { skip }, async (t) => {
  const { name, kids } = scratch(t, "v2-busy");
  driver.create(name);
  const c = spawnWaiting("sleep 30");
  kids.push(c);
  await driver.addProcess(name, c.pid);
  await assert.rejects(driver.delete(name, { timeoutMs: 150 }), (e: unknown) => {
    assert.ok(e instanceof TimeoutError);
    assert.equal(e.ms, 150);
    assert.match(e.message, new RegExp(`^delete cgroup ${name}: not done after 150 ms: processes ${c.pid} still live`));
    return true;
  });
  assert.ok(driver.exists(name));
  // A process that exits while delete waits: delete then succeeds.
  const pending = driver.delete(name, { timeoutMs: 3000 });
  setTimeout(() => void c.stop(), 100);
  await pending;
  assert.equal(driver.exists(name), false);
});

// Each v1 controller on this host, for real: apply, read back normalized, stats, update in place, delete.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { openCgroupDriver } from "../../src/cgroup/driver";
import { detectLayout } from "../../src/cgroup/layout";
import { diffLimits, type CgroupLimits } from "../../src/cgroup/spec";
import { V1Manager } from "../../src/cgroup/v1/manager";
import { V1_UNLIMITED } from "../../src/cgroup/v1/bytes";
import { UnsupportedError } from "../../src/sys/errors";
import { CGROUP_PARENT } from "../../src/sys/paths";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { causedBy } from "../helpers/errorChain";
import { spawnWaiting, type WaitingChild } from "./children";

const layout = detectLayout();
const skip = needsRoot || (layout.mode === "v2" ? "host has no cgroup v1 hierarchies (pure cgroup v2)" : false);
const driver = openCgroupDriver();

function skipUnless(ctrl: string): string | false {
  if (skip !== false) return skip;
  return layout.v1Mounts[ctrl] === undefined ? `no v1 ${ctrl} hierarchy on this host` : false;
}

/** A fresh cgroup (and a list of children) removed after the test whatever happens. */
function scratch(t: { after(fn: () => Promise<void>): void }, what: string, limits?: CgroupLimits): { name: string; children: WaitingChild[] } {
  const name = testPrefix(what);
  const children: WaitingChild[] = [];
  t.after(async () => {
    for (const c of children) await c.stop();
    await driver.delete(name);
  });
  driver.create(name, limits);
  return { name, children };
}

function assertNoDrift(declared: CgroupLimits, name: string): void {
  assert.deepEqual(diffLimits(driver.normalize(declared), driver.read(name)), []);
}

const file = (path: string) => readFileSync(path, "utf8").trim();

test("memory: declared sizes read back equal after page rounding; max spelled 9223372036854771712", { skip: skipUnless("memory") }, async (t) => {
  const declared: CgroupLimits = { memory: { max: "100001k", low: "10M" } };
  const { name } = scratch(t, "v1-mem", declared);
  const dir = driver.paths(name).v1.memory!;
  assert.equal(Number(file(join(dir, "memory.limit_in_bytes"))) % 4096, 0);
  assertNoDrift(declared, name);
  driver.apply(name, { memory: { max: "max", low: "max" } });
  assert.equal(file(join(dir, "memory.limit_in_bytes")), V1_UNLIMITED);
  assert.deepEqual(driver.read(name).memory?.max, "max");
  assertNoDrift({ memory: { max: "max", low: "max" } }, name);
  assert.ok(diffLimits(driver.normalize(declared), driver.read(name)).some((d) => d.field === "memory.max"));
});

test("memory: memsw = max + swap, written in the right order when raising and lowering", { skip: skipUnless("memory") }, async (t) => {
  const { name } = scratch(t, "v1-memsw");
  const dir = driver.paths(name).v1.memory!;
  if (!existsSync(join(dir, "memory.memsw.limit_in_bytes"))) return t.skip("no swap accounting on this kernel");
  for (const memory of [
    { max: "200Mi", swapMax: "100Mi" },
    { max: "50Mi", swapMax: "10Mi" }, // lowering below the live limit: limit first
    { max: "1Gi", swapMax: "1Gi" }, // raising above live memsw: memsw first
    { max: "1Gi", swapMax: "max" },
    { max: "64Mi", swapMax: 0 },
  ]) {
    driver.apply(name, { memory });
    assertNoDrift({ memory }, name);
  }
  assert.equal(Number(file(join(dir, "memory.memsw.limit_in_bytes"))), 64 * 2 ** 20);
});

test("memory: stats show usage, peak, and an OOM kill when a child allocates past the limit", { skip: skipUnless("memory") }, async (t) => {
  const { name, children } = scratch(t, "v1-oom", { memory: { max: "16Mi", swapMax: existsSync(join(layout.v1Mounts.memory!, "memory.memsw.limit_in_bytes")) ? 0 : undefined } as CgroupLimits["memory"] });
  // A shell variable of 64 MiB: the subshell that builds it outgrows a 16 MiB limit.
  const c = spawnWaiting(`x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived`);
  children.push(c);
  await driver.addProcess(name, c.pid);
  c.go();
  await c.exited;
  const s = driver.stats(name);
  assert.ok(s.memory !== undefined);
  assert.ok(s.memory.oomKill >= 1, `oom_kill ${s.memory.oomKill}`);
  assert.ok((s.memory.peak ?? 0) > 8 * 2 ** 20, `peak ${s.memory.peak}`);
});

test("cpu: shares, weight conversion, cores -> quota/period, update in place, throttling in stats", { skip: skipUnless("cpu") }, async (t) => {
  const declared: CgroupLimits = { cpu: { weight: 100, cores: "0.05" } };
  const { name, children } = scratch(t, "v1-cpu", declared);
  const dir = driver.paths(name).v1.cpu!;
  assert.equal(file(join(dir, "cpu.shares")), "2597");
  assert.equal(file(join(dir, "cpu.cfs_quota_us")), "5000");
  assertNoDrift(declared, name);
  const busy = spawnWaiting("while :; do :; done");
  children.push(busy);
  await driver.addProcess(name, busy.pid);
  busy.go();
  const deadline = Date.now() + 5000;
  // nr_throttled counts a throttled period when it starts, throttled_time only once it ends: wait for both.
  const throttled = () => (driver.stats(name).cpu?.nrThrottled ?? 0) > 0 && (driver.stats(name).cpu?.throttledUsec ?? 0) > 0;
  while (Date.now() < deadline && !throttled()) await new Promise((r) => setTimeout(r, 50));
  const s = driver.stats(name).cpu!;
  assert.ok(s.nrThrottled > 0 && s.nrPeriods >= s.nrThrottled && s.throttledUsec > 0, JSON.stringify(s));
  // cpuacct (its own hierarchy here) reports the usage.
  if (layout.v1Mounts.cpuacct !== undefined) assert.ok((s.usageUsec ?? 0) > 0, JSON.stringify(s));
  await busy.stop();
  driver.apply(name, { cpu: { shares: 512, quota: "max", period: 50_000 } });
  assert.equal(file(join(dir, "cpu.cfs_quota_us")), "-1");
  assertNoDrift({ cpu: { shares: 512, quota: "max", period: 50_000 } }, name);
});

test("cpuset: copied from the parent so tasks can join; lists read back canonical", { skip: skipUnless("cpuset") }, async (t) => {
  const { name, children } = scratch(t, "v1-cpuset", { cpuset: { cpus: "0" } });
  const dir = driver.paths(name).v1.cpuset!;
  assert.equal(file(join(dir, "cpuset.mems")), file(join(layout.v1Mounts.cpuset!, "cpuset.mems")));
  const c = spawnWaiting("sleep 30");
  children.push(c);
  await driver.addProcess(name, c.pid);
  assert.match(readFileSync(`/proc/${c.pid}/status`, "utf8"), /Cpus_allowed_list:\s+0\n/);
  const all = file(join(layout.v1Mounts.cpuset!, "cpuset.cpus"));
  const spelled = all.includes("-") ? all.replace(/^(\d+)-(\d+)$/, (_m, a: string, b: string) => Array.from({ length: Number(b) - Number(a) + 1 }, (_v, i) => Number(a) + i).join(",")) : all;
  driver.apply(name, { cpuset: { cpus: spelled } });
  assertNoDrift({ cpuset: { cpus: spelled } }, name);
});

test("pids: max read back, enforced on fork, limit hits counted", { skip: skipUnless("pids") }, async (t) => {
  const { name, children } = scratch(t, "v1-pids", { pids: { max: 4 } });
  assertNoDrift({ pids: { max: 4 } }, name);
  const c = spawnWaiting("for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; wait");
  children.push(c);
  await driver.addProcess(name, c.pid);
  c.go();
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && (driver.stats(name).pids?.limitHits ?? 0) === 0) await new Promise((r) => setTimeout(r, 20));
  const s = driver.stats(name).pids!;
  assert.ok(s.current <= 4 && (s.limitHits ?? 0) > 0, JSON.stringify(s));
  await driver.kill(name);
  driver.apply(name, { pids: { max: "max" } });
  assert.equal(driver.read(name).pids?.max, "max");
});

/** A whole disk from /sys/class/block (partitions and zram refuse throttles), or undefined. */
function blockDevice(): { major: number; minor: number } | undefined {
  const names = readdirSync("/sys/class/block").filter((n) => !existsSync(`/sys/class/block/${n}/partition`));
  const pick = names.find((n) => /^(vd|sd|nvme|xvd)/.test(n)) ?? names.find((n) => n.startsWith("loop"));
  if (pick === undefined) return undefined;
  const [major, minor] = file(`/sys/class/block/${pick}/dev`).split(":").map(Number);
  return { major: major!, minor: minor! };
}

test("blkio: per-device throttles read back; a dropped device is cleared", { skip: skipUnless("blkio") }, async (t) => {
  const dev = blockDevice();
  if (dev === undefined) return t.skip("no block device in /sys/class/block");
  const declared: CgroupLimits = { io: { devices: [{ ...dev, readBps: "10Mi", writeBps: "5M", readIops: 1000, writeIops: 500 }] } };
  const { name } = scratch(t, "v1-blkio");
  const dir = driver.paths(name).v1.blkio!;
  driver.apply(name, declared);
  assert.equal(file(join(dir, "blkio.throttle.read_bps_device")), `${dev.major}:${dev.minor} ${10 * 2 ** 20}`);
  assertNoDrift(declared, name);
  driver.apply(name, { io: { devices: [{ ...dev, writeIops: 100 }] } });
  assert.equal(file(join(dir, "blkio.throttle.read_bps_device")), "");
  assertNoDrift({ io: { devices: [{ ...dev, writeIops: 100 }] } }, name);
  driver.apply(name, { io: { devices: [] } });
  assert.deepEqual(driver.read(name).io?.devices, []);
});

/** The I/O schedulers the kernel offers, from the first block device's queue/scheduler ("none mq-deadline kyber"). */
function ioSchedulers(): string {
  for (const n of readdirSync("/sys/class/block")) {
    try {
      return file(`/sys/class/block/${n}/queue/scheduler`).replace(/[[\]]/g, "");
    } catch {
      // a partition: no queue of its own
    }
  }
  return "unknown";
}

test("blkio: the weight goes to blkio.weight or blkio.bfq.weight and reads back; without either it is UnsupportedError", { skip: skipUnless("blkio") }, async (t) => {
  const { name } = scratch(t, "v1-blkio-weight");
  const dir = driver.paths(name).v1.blkio!;
  const weightFile = ["blkio.weight", "blkio.bfq.weight"].find((f) => existsSync(join(dir, f)));
  if (weightFile === undefined) {
    assert.throws(() => driver.apply(name, { io: { blkioWeight: 300 } }), (e: unknown) => causedBy(e, UnsupportedError), "a weight this kernel cannot enforce is refused");
    return t.skip(`this kernel has neither blkio.weight nor blkio.bfq.weight (no CFQ/BFQ; I/O schedulers: ${ioSchedulers()}): ` +
      "the weight's write and read run against fixtures in v1-files.test.ts");
  }
  driver.apply(name, { io: { blkioWeight: 300 } });
  // BFQ prints "default 300", CFQ a bare "300".
  assert.match(file(join(dir, weightFile)), /(^|\s)300$/);
  assertNoDrift({ io: { blkioWeight: 300 } }, name);
  driver.apply(name, { io: { weight: 10000 } });
  assert.equal(driver.read(name).io?.blkioWeight, 1000, "a v2 io weight is converted to the blkio scale");
});

test("freezer: v1 freeze and thaw through freezer.state", { skip: skipUnless("freezer") }, async (t) => {
  const { name, children } = scratch(t, "v1-freezer");
  const v1 = new V1Manager(layout.v1Mounts);
  const c = spawnWaiting("sleep 30");
  children.push(c);
  await driver.addProcess(name, c.pid);
  const segs = [CGROUP_PARENT, name];
  await v1.setFrozen(segs, true);
  const dir = driver.paths(name).v1.freezer!;
  assert.equal(file(join(dir, "freezer.state")), "FROZEN");
  await v1.setFrozen(segs, false);
  assert.equal(file(join(dir, "freezer.state")), "THAWED");
});

test("pure-v1 driver on this host: kill through freeze/signal/thaw, then delete leaves nothing", { skip: skip }, async (t) => {
  const v1only = openCgroupDriver({ mode: "v1", v2Controllers: [], v1Mounts: layout.v1Mounts });
  const name = testPrefix("v1-kill");
  const kids = [spawnWaiting("sleep 30"), spawnWaiting("trap 'exit 7' TERM; sleep 30 & wait")];
  t.after(async () => {
    for (const k of kids) await k.stop();
    await v1only.delete(name);
  });
  v1only.create(`${name}/inner`, { pids: { max: 100 } });
  assert.equal(v1only.paths(name).v2, undefined);
  await v1only.addProcess(name, kids[0]!.pid);
  await v1only.addProcess(`${name}/inner`, kids[1]!.pid);
  kids[1]!.go();
  assert.deepEqual(v1only.procs(name), [kids[0]!.pid]);
  assert.ok(v1only.populated(name));
  await v1only.kill(name);
  assert.equal((await kids[0]!.exited).signal, "SIGKILL");
  assert.equal((await kids[1]!.exited).signal, "SIGKILL");
  await v1only.delete(name);
  assert.equal(v1only.exists(name), false);
  for (const dir of Object.values(v1only.paths(name).v1)) assert.equal(existsSync(dir), false);
});

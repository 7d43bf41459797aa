// v2 controller files against fixture directories (youki style): apply writes the spelling the kernel
// takes, read parses the spelling it prints. The real kernel run is v2-enforcement.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryLimits, memoryV2 } from "../../src/cgroup/v2/memory";
import { cpuLimits, cpuV2, parseCpuMax } from "../../src/cgroup/v2/cpu";
import { cpusetLimits, cpusetV2 } from "../../src/cgroup/v2/cpuset";
import { pidsV2 } from "../../src/cgroup/v2/pids";
import { ioLimits, ioV2, parseIoMax, parseIoWeight } from "../../src/cgroup/v2/io";
import { UnsupportedError } from "../../src/sys/errors";

/** A controller method that must exist (each of these controllers has it). */
function must<T>(method: T | undefined): T {
  assert.ok(method !== undefined, "controller method missing");
  return method;
}

const FILES: Record<string, string> = {
  "memory.max": "max\n",
  "memory.high": "max\n",
  "memory.low": "0\n",
  "memory.swap.max": "max\n",
  "memory.current": "1234567\n",
  "memory.peak": "7654321\n",
  "memory.events": "low 0\nhigh 5\nmax 3\noom 2\noom_kill 1\noom_group_kill 0\n",
  "cpu.weight": "100\n",
  "cpu.max": "max 100000\n",
  "cpu.stat": "usage_usec 900\nuser_usec 600\nsystem_usec 300\nnr_periods 10\nnr_throttled 4\nthrottled_usec 777\n",
  "cpuset.cpus": "\n",
  "cpuset.mems": "\n",
  "pids.max": "max\n",
  "pids.current": "3\n",
  "pids.events": "max 4\n",
  "io.weight": "default 100\n",
  "io.max": "",
};

function fixture(t: { after(fn: () => void): void }, omit: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), "hostform-test-cgv2-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [f, text] of Object.entries(FILES)) if (!omit.includes(f)) writeFileSync(join(dir, f), text);
  return dir;
}

const file = (dir: string, f: string) => readFileSync(join(dir, f), "utf8");

test("memory: writes bytes and max, reads them back, stats from memory.events", (t) => {
  const dir = fixture(t);
  const want = memoryLimits.validate({ max: "64Mi", high: "48Mi", low: "max", swapMax: 0 }, "memory");
  must(memoryV2.apply)(dir, want);
  assert.equal(file(dir, "memory.max"), String(64 * 2 ** 20));
  assert.equal(file(dir, "memory.low"), "max");
  assert.equal(file(dir, "memory.swap.max"), "0");
  assert.deepEqual(must(memoryV2.read)(dir), want);
  assert.deepEqual(must(memoryV2.stats)(dir), { memory: { current: 1234567, peak: 7654321, oom: 2, oomKill: 1, maxHits: 3 } });
});

test("memory: swap limit without swap accounting is UnsupportedError naming memory.swapMax", (t) => {
  const dir = fixture(t, ["memory.swap.max"]);
  assert.throws(() => must(memoryV2.apply)(dir, { swapMax: 0 }), (e: unknown) => e instanceof UnsupportedError && /memory\.swapMax/.test(e.message));
});

test("cpu: shares become a weight; quota and period go to cpu.max in one write", (t) => {
  const dir = fixture(t);
  const want = must(cpuV2.normalize)(cpuLimits.validate({ shares: 1024, cores: "0.25" }, "cpu"), "cpu");
  assert.deepEqual(want, { weight: 39, quota: 25_000, period: 100_000 });
  must(cpuV2.apply)(dir, want);
  assert.equal(file(dir, "cpu.weight"), "39");
  assert.equal(file(dir, "cpu.max"), "25000 100000");
  assert.deepEqual(must(cpuV2.read)(dir), want);
  // Only a period declared: the live quota is kept.
  must(cpuV2.apply)(dir, { period: 50_000 });
  assert.equal(file(dir, "cpu.max"), "25000 50000");
  assert.deepEqual(parseCpuMax("max 100000"), { quota: "max", period: 100000 });
  assert.deepEqual(must(cpuV2.stats)(dir), { cpu: { usageUsec: 900, userUsec: 600, systemUsec: 300, nrPeriods: 10, nrThrottled: 4, throttledUsec: 777 } });
});

test("cpuset: canonical lists written and read; empty means inherited and reads as absent", (t) => {
  const dir = fixture(t);
  assert.deepEqual(must(cpusetV2.read)(dir), {});
  must(cpusetV2.apply)(dir, cpusetLimits.validate({ cpus: "1,0", mems: "0" }, "cpuset"));
  assert.equal(file(dir, "cpuset.cpus"), "0-1");
  writeFileSync(join(dir, "cpuset.cpus"), "0,1\n");
  assert.deepEqual(must(cpusetV2.read)(dir), { cpus: "0-1", mems: "0" });
});

test("pids: max and 0 are real values", (t) => {
  const dir = fixture(t);
  must(pidsV2.apply)(dir, { max: 0 });
  assert.deepEqual(must(pidsV2.read)(dir), { max: 0 });
  must(pidsV2.apply)(dir, { max: "max" });
  assert.deepEqual(must(pidsV2.read)(dir), { max: "max" });
  assert.deepEqual(must(pidsV2.stats)(dir), { pids: { current: 3, limitHits: 4 } });
});

test("io: weight as 'default N', io.max lines parsed with max as absent", (t) => {
  const dir = fixture(t);
  const want = must(ioV2.normalize)(ioLimits.validate({ blkioWeight: 500, devices: [{ major: 8, minor: 0, readBps: "1Mi", writeIops: 100 }] }, "io"), "io");
  assert.deepEqual(want, { weight: 4950, devices: [{ major: 8, minor: 0, readBps: 1048576, writeIops: 100 }] });
  must(ioV2.apply)(dir, want);
  assert.equal(file(dir, "io.weight"), "default 4950");
  assert.equal(file(dir, "io.max"), "8:0 rbps=1048576 wbps=max riops=max wiops=100");
  assert.deepEqual(must(ioV2.read)(dir), { weight: 4950, devices: [{ major: 8, minor: 0, readBps: 1048576, writeIops: 100 }] });
  assert.deepEqual(parseIoMax("8:16 rbps=max wbps=max riops=max wiops=max\n8:0 rbps=2 wbps=max riops=3 wiops=max\n"), [{ major: 8, minor: 0, readBps: 2, readIops: 3 }]);
  assert.equal(parseIoWeight("default 250\n8:0 100\n"), 250);
  const bare = fixture(t, ["io.weight"]);
  assert.throws(() => must(ioV2.apply)(bare, { weight: 100 }), (e: unknown) => e instanceof UnsupportedError && /io\.weight/.test(e.message));
});

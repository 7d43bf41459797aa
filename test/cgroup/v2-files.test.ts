// v2 controller files against fixture directories (youki style): apply writes the spelling the kernel
// takes, read parses the spelling it prints. The real kernel run is v2-enforcement.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryV2 } from "../../src/cgroup/v2/memory";
import { cpuV2, parseCpuMax } from "../../src/cgroup/v2/cpu";
import { cpusetV2 } from "../../src/cgroup/v2/cpuset";
import { pidsV2 } from "../../src/cgroup/v2/pids";
import { ioV2, parseIoMax, parseIoWeight } from "../../src/cgroup/v2/io";
import { validateLimits } from "../../src/cgroup/spec";
import { UnsupportedError } from "../../src/sys/errors";

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
  const want = memoryV2.normalize(validateLimits({ memory: { max: "64Mi", high: "48Mi", low: "max", swapMax: 0 } }), "");
  memoryV2.apply(dir, want);
  assert.equal(file(dir, "memory.max"), String(64 * 2 ** 20));
  assert.equal(file(dir, "memory.low"), "max");
  assert.equal(file(dir, "memory.swap.max"), "0");
  assert.deepEqual(memoryV2.read(dir), want);
  assert.deepEqual(memoryV2.stats(dir), { memory: { current: 1234567, peak: 7654321, oom: 2, oomKill: 1, maxHits: 3 } });
});

test("memory: swap limit without swap accounting is UnsupportedError naming memory.swapMax", (t) => {
  const dir = fixture(t, ["memory.swap.max"]);
  assert.throws(() => memoryV2.apply(dir, { memory: { swapMax: 0 } }), (e: unknown) => e instanceof UnsupportedError && /memory\.swapMax/.test(e.message));
});

test("cpu: shares become a weight; quota and period go to cpu.max in one write", (t) => {
  const dir = fixture(t);
  const want = cpuV2.normalize(validateLimits({ cpu: { shares: 1024, cores: "0.25" } }), "");
  assert.deepEqual(want, { cpu: { weight: 39, quota: 25_000, period: 100_000 } });
  cpuV2.apply(dir, want);
  assert.equal(file(dir, "cpu.weight"), "39");
  assert.equal(file(dir, "cpu.max"), "25000 100000");
  assert.deepEqual(cpuV2.read(dir), want);
  // Only a period declared: the live quota is kept.
  cpuV2.apply(dir, { cpu: { period: 50_000 } });
  assert.equal(file(dir, "cpu.max"), "25000 50000");
  assert.deepEqual(parseCpuMax("max 100000"), { quota: "max", period: 100000 });
  assert.deepEqual(cpuV2.stats(dir), { cpu: { usageUsec: 900, userUsec: 600, systemUsec: 300, nrPeriods: 10, nrThrottled: 4, throttledUsec: 777 } });
});

test("cpuset: canonical lists written and read; empty means inherited and reads as absent", (t) => {
  const dir = fixture(t);
  assert.deepEqual(cpusetV2.read(dir), { cpuset: {} });
  cpusetV2.apply(dir, cpusetV2.normalize(validateLimits({ cpuset: { cpus: "1,0", mems: "0" } }), ""));
  assert.equal(file(dir, "cpuset.cpus"), "0-1");
  writeFileSync(join(dir, "cpuset.cpus"), "0,1\n");
  assert.deepEqual(cpusetV2.read(dir), { cpuset: { cpus: "0-1", mems: "0" } });
});

test("pids: max and 0 are real values", (t) => {
  const dir = fixture(t);
  pidsV2.apply(dir, { pids: { max: 0 } });
  assert.deepEqual(pidsV2.read(dir), { pids: { max: 0 } });
  pidsV2.apply(dir, { pids: { max: "max" } });
  assert.deepEqual(pidsV2.read(dir), { pids: { max: "max" } });
  assert.deepEqual(pidsV2.stats(dir), { pids: { current: 3, limitHits: 4 } });
});

test("io: weight as 'default N', io.max lines parsed with max as absent", (t) => {
  const dir = fixture(t);
  const want = ioV2.normalize(validateLimits({ io: { blkioWeight: 500, devices: [{ major: 8, minor: 0, readBps: "1Mi", writeIops: 100 }] } }), "");
  assert.deepEqual(want, { io: { weight: 4950, devices: [{ major: 8, minor: 0, readBps: 1048576, writeIops: 100 }] } });
  ioV2.apply(dir, want);
  assert.equal(file(dir, "io.weight"), "default 4950");
  assert.equal(file(dir, "io.max"), "8:0 rbps=1048576 wbps=max riops=max wiops=100");
  assert.deepEqual(ioV2.read(dir), { io: { weight: 4950, devices: [{ major: 8, minor: 0, readBps: 1048576, writeIops: 100 }] } });
  assert.deepEqual(parseIoMax("8:16 rbps=max wbps=max riops=max wiops=max\n8:0 rbps=2 wbps=max riops=3 wiops=max\n"), [{ major: 8, minor: 0, readBps: 2, readIops: 3 }]);
  assert.equal(parseIoWeight("default 250\n8:0 100\n"), 250);
  const bare = fixture(t, ["io.weight"]);
  assert.throws(() => ioV2.apply(bare, { io: { weight: 100 } }), (e: unknown) => e instanceof UnsupportedError && /io\.weight/.test(e.message));
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCpu, parseSize } from "../../src/cgroup/units";
import { LIMIT_GROUPS, LIMIT_GROUP_DEFS, diffLimits, limitsFromOci, validateLimits, withLiftedLimits } from "../../src/cgroup/spec";
import { V1_CONTROLLERS } from "../../src/cgroup/v1/manager";
import { V2_CONTROLLERS } from "../../src/cgroup/v2/manager";
import { blkioWeightToIoWeight, cpuSharesToWeight, cpuWeightToShares, ioWeightToBlkioWeight, kernelPageSize } from "../../src/cgroup/scales";
import { normalizeCpuList } from "../../src/cgroup/v2/cpuset";
import { ValidationError } from "../../src/sys/errors";

function throwsField(fn: () => unknown, field: string, pattern?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ValidationError, `expected ValidationError, got ${String(err)}`);
    assert.equal(err.field, field);
    assert.ok(err.message.startsWith(`${field}: `));
    if (pattern !== undefined) assert.match(err.message, pattern);
    return true;
  });
}

test("sizes: binary and decimal units, fractions, plain bytes, max", () => {
  assert.equal(parseSize("256Mi", "f"), 256 * 2 ** 20);
  assert.equal(parseSize("1G", "f"), 1e9);
  assert.equal(parseSize("512k", "f"), 512_000);
  assert.equal(parseSize("1.5Gi", "f"), 1.5 * 2 ** 30);
  assert.equal(parseSize("4096", "f"), 4096);
  assert.equal(parseSize(" 10 Ki ", "f"), 10240);
  assert.equal(parseSize(123, "f"), 123);
  assert.equal(parseSize("max", "f", { allowMax: true }), "max");
});

test("bad sizes name the field and the fix", () => {
  throwsField(() => parseSize("12Q", "memory.max"), "memory.max", /unknown unit "Q".*256Mi/);
  throwsField(() => parseSize("-1", "memory.max", { allowMax: true }), "memory.max", /negative.*"max"/);
  throwsField(() => parseSize("", "memory.max"), "memory.max", /empty/);
  throwsField(() => parseSize(-5, "memory.max"), "memory.max", /negative/);
  throwsField(() => parseSize(1.5, "memory.max"), "memory.max", /whole number/);
  throwsField(() => parseSize("max", "memory.low"), "memory.low", /"max" is not allowed/);
  throwsField(() => parseSize({}, "memory.max"), "memory.max", /expected a size/);
  throwsField(() => parseSize("99999999999Pi", "memory.max"), "memory.max", /too large/);
});

test("cpu amounts: cores, millicores, max, quota/period", () => {
  assert.deepEqual(parseCpu("0.5", "cpu.cores"), { quota: 50_000, period: 100_000 });
  assert.deepEqual(parseCpu(2, "cpu.cores"), { quota: 200_000, period: 100_000 });
  assert.deepEqual(parseCpu("500m", "cpu.cores"), { quota: 50_000, period: 100_000 });
  assert.deepEqual(parseCpu("max", "cpu.cores"), { quota: "max", period: 100_000 });
  assert.deepEqual(parseCpu({ quota: 20_000, period: 50_000 }, "cpu.cores"), { quota: 20_000, period: 50_000 });
  throwsField(() => parseCpu("half", "cpu.cores"), "cpu.cores", /not a CPU amount/);
  throwsField(() => parseCpu(0, "cpu.cores"), "cpu.cores", /not a positive/);
  throwsField(() => parseCpu("1m", "cpu.cores"), "cpu.cores", /minimum/);
  throwsField(() => parseCpu({ quota: 500 }, "cpu.cores"), "cpu.cores.quota", /minimum/);
  throwsField(() => parseCpu({ quota: 5000, period: 5 }, "cpu.cores"), "cpu.cores.period");
});

test("standard weight conversions (runc/crun/systemd)", () => {
  assert.equal(cpuSharesToWeight(2), 1);
  assert.equal(cpuSharesToWeight(1024), 39);
  assert.equal(cpuSharesToWeight(262144), 10000);
  assert.equal(cpuWeightToShares(1), 2);
  assert.equal(cpuWeightToShares(10000), 262144);
  assert.equal(cpuWeightToShares(100), 2597);
  assert.equal(blkioWeightToIoWeight(10), 1);
  assert.equal(blkioWeightToIoWeight(1000), 10000);
  assert.equal(ioWeightToBlkioWeight(1), 10);
  assert.equal(ioWeightToBlkioWeight(10000), 1000);
  for (const w of [1, 50, 100, 5000, 10000]) assert.ok(Math.abs(cpuSharesToWeight(cpuWeightToShares(w)) - w) <= 1);
});

test("cpu lists take the kernel's spelling", () => {
  assert.equal(normalizeCpuList("0,1,2,5", "cpuset.cpus"), "0-2,5");
  assert.equal(normalizeCpuList("3, 1-2", "cpuset.cpus"), "1-3");
  throwsField(() => normalizeCpuList("2-1", "cpuset.cpus"), "cpuset.cpus", /ends before/);
  throwsField(() => normalizeCpuList("a", "cpuset.cpus"), "cpuset.cpus");
  throwsField(() => normalizeCpuList("", "cpuset.cpus"), "cpuset.cpus");
});

test("validateLimits resolves sizes to pages, cores to quota, devices in order", () => {
  const page = kernelPageSize();
  const v = validateLimits(
    {
      memory: { max: "100001k", high: "max", low: 0, swapMax: "1Gi" },
      cpu: { shares: 512, cores: "1.5" },
      cpuset: { cpus: "1,0" },
      pids: { max: -1 },
      io: { weight: 200, devices: [{ major: 8, minor: 16, writeIops: 50 }, { major: 8, minor: 0, readBps: "1Mi", writeBps: "max" }, { major: 9, minor: 0, readBps: "max" }] },
    },
    "limits",
  );
  assert.deepEqual(v, {
    memory: { max: Math.floor(100_001_000 / page) * page, high: "max", low: 0, swapMax: 2 ** 30 },
    cpu: { shares: 512, quota: 150_000, period: 100_000 },
    cpuset: { cpus: "0-1" },
    pids: { max: "max" },
    io: { weight: 200, devices: [{ major: 8, minor: 0, readBps: 2 ** 20 }, { major: 8, minor: 16, writeIops: 50 }] },
  });
  assert.deepEqual(validateLimits({ cpu: { quota: 20_000 } }).cpu, { quota: 20_000, period: 100_000 });
});

test("validateLimits: unknown controllers and limits, conflicts and bad values name the field", () => {
  throwsField(() => validateLimits({ hugetlb: {} }, "limits"), "limits.hugetlb", /unknown controller "hugetlb" \(known: (?=.*\bmemory\b)(?=.*\bcpu\b)(?=.*\bcpuset\b)(?=.*\bpids\b)(?=.*\bio\b)/);
  throwsField(() => validateLimits({ memory: { maximum: "1G" } }, "limits"), "limits.memory.maximum", /unknown memory limit/);
  throwsField(() => validateLimits({ memory: { max: "12Q" } }, "limits"), "limits.memory.max", /unknown unit/);
  throwsField(() => validateLimits({ memory: { max: "-1" } }), "memory.max", /negative/);
  throwsField(() => validateLimits({ memory: { max: "" } }), "memory.max", /empty/);
  throwsField(() => validateLimits({ cpu: { weight: 100, shares: 1024 } }), "cpu.shares", /both/);
  throwsField(() => validateLimits({ cpu: { weight: 0 } }), "cpu.weight", /1 to 10000/);
  throwsField(() => validateLimits({ cpu: { cores: 1, quota: 1000 } }), "cpu.cores", /both/);
  throwsField(() => validateLimits({ pids: { max: -2 } }), "pids.max");
  throwsField(() => validateLimits({ io: { devices: [{ major: 8, minor: 0 }, { major: 8, minor: 0 }] } }), "io.devices[1]", /twice/);
  throwsField(() => validateLimits({ io: { devices: [{ major: 8, minor: 0, readBps: 0 }] } }), "io.devices[0].readBps", /stop all I\/O/);
  throwsField(() => validateLimits({ io: { devices: [{ major: "8", minor: 0 }] } }), "io.devices[0].major");
  throwsField(() => validateLimits("lots", "limits"), "limits", /expected an object/);
});

test("diffLimits compares declared fields only", () => {
  const want = { memory: { max: 4096 as number | "max" }, io: { devices: [{ major: 8, minor: 0, readBps: 10 }] } };
  assert.deepEqual(diffLimits(want, { memory: { max: 4096, low: 0 }, io: { devices: [{ major: 8, minor: 0, readBps: 10 }] } }), []);
  assert.deepEqual(diffLimits(want, { memory: { max: "max" }, io: { devices: [] } }), [
    { field: "memory.max", declared: 4096, live: "max" },
    { field: "io.devices", declared: [{ major: 8, minor: 0, readBps: 10 }], live: [] },
  ]);
});

test("limitsFromOci maps linux.resources through each group's own mapping; -1 is max; unknown fields are refused by name", () => {
  assert.deepEqual(
    limitsFromOci({
      memory: { limit: 64 << 20, reservation: -1, swap: 96 << 20 },
      cpu: { shares: 512, quota: -1, period: 50000, cpus: "0-1", mems: "" },
      pids: { limit: 0 },
      blockIO: { weight: 300 },
    }),
    {
      memory: { max: 64 << 20, low: "max", swapMax: 32 << 20 },
      cpu: { shares: 512, quota: "max", period: 50000 },
      cpuset: { cpus: "0-1" },
      pids: { max: "max" },
      io: { blkioWeight: 300 },
    },
  );
  assert.throws(() => limitsFromOci({ memory: { kernel: 1 } }), (e: unknown) => e instanceof ValidationError && e.field === "linux.resources.memory.kernel");
  assert.throws(() => limitsFromOci({ rdma: {} }), (e: unknown) => e instanceof ValidationError && e.field === "linux.resources.rdma");
  assert.throws(() => limitsFromOci({ cpu: { shares: "x" } }), (e: unknown) => e instanceof ValidationError && e.field === "linux.resources.cpu.shares");
  assert.deepEqual(limitsFromOci({ devices: [{ allow: false, access: "rwm" }] }, "linux.resources", ["devices"]), {});
  assert.equal(limitsFromOci(undefined), undefined);
});

test("withLiftedLimits writes each group's 'no limit' value for what is no longer declared", () => {
  assert.deepEqual(withLiftedLimits({ io: { weight: 300, devices: [] } }, {}), { io: { weight: 100 } });
  assert.deepEqual(withLiftedLimits({ io: { blkioWeight: 300 } }, { io: {} }), { io: { blkioWeight: 500 } });
  assert.deepEqual(withLiftedLimits({ io: { weight: 300 } }, { io: { blkioWeight: 700 } }), { io: { blkioWeight: 700 } });
  assert.deepEqual(withLiftedLimits({ cpu: { quota: 50000, period: 100000 } }, { cpu: { cores: 2 } }), { cpu: { cores: 2 } });
  assert.deepEqual(withLiftedLimits({ cpu: { quota: 50000, period: 100000 } }, {}), { cpu: { quota: "max" } });
  assert.deepEqual(withLiftedLimits({ cpuset: { cpus: "0" } }, {}), {});
  assert.deepEqual(withLiftedLimits({ pids: { max: 5 } }, {}), { pids: { max: "max" } });
  assert.deepEqual(withLiftedLimits({ memory: { low: "1Mi", swapMax: 0 } }, {}), { memory: { low: 0, swapMax: "max" } });
});

test("every controller of both versions writes a group the registry knows, and every group has a v2 controller", () => {
  const names = new Set(LIMIT_GROUP_DEFS.map((g) => g.name));
  for (const c of [...V1_CONTROLLERS, ...V2_CONTROLLERS]) if (c.limits !== undefined) assert.ok(names.has(c.limits.name), `${c.name} writes ${c.limits.name}`);
  for (const g of LIMIT_GROUPS) assert.ok(V2_CONTROLLERS.some((c) => c.limits.name === g), `${g} has a v2 controller`);
  assert.deepEqual([...LIMIT_GROUPS].sort(), ["cpu", "cpuset", "devices", "io", "memory", "pids"]);
});

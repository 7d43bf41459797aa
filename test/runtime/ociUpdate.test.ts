// update: runc update's flags and -r JSON as cgroup limits, errors naming the flag or field, and the
// limits a real cgroup gets from them compared with what `runc update` gives a runc container's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { openCgroupDriver } from "../../src/cgroup/driver";
import { parseUpdate, type UpdateFlags } from "../../src/runtime/ociUpdate";
import { ValidationError } from "../../src/sys/errors";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { hasRunc, startRuncContainer } from "../helpers/runcContainer";

test("flags become limits in runc's units; 0 and empty leave a setting alone; -1 lifts it", () => {
  assert.deepEqual(parseUpdate({ memory: "64m", "memory-reservation": "1.5k", "pids-limit": "77", "cpu-share": "512", "cpuset-cpus": "0" }), {
    memory: { max: 64 * 1024 * 1024, low: 1536 },
    pids: { max: 77 },
    cpu: { shares: 512 },
    cpuset: { cpus: "0" },
  });
  assert.deepEqual(parseUpdate({ memory: "-1", "pids-limit": "-1", "cpu-quota": "-1" }), { memory: { max: "max" }, pids: { max: "max" }, cpu: { quota: "max" } });
  assert.deepEqual(parseUpdate({ memory: "0", "pids-limit": "0", "cpuset-cpus": "" }), {});
  assert.deepEqual(parseUpdate({ memory: "100000000", "memory-swap": "200000000" }).memory, { max: 100000000, swapMax: 100000000 });
});

test("-r takes LinuxResources JSON: runc's fields, zeros unchanged, the rest left as runc leaves it", () => {
  const json = JSON.stringify({ memory: { limit: 100000000, reservation: 0, swappiness: 60 }, cpu: { shares: 0, quota: 20000, period: 100000, cpus: "", realtimeRuntime: 0 }, pids: { limit: 33 }, devices: [{ allow: false, access: "rwm" }], unified: {} });
  assert.deepEqual(parseUpdate({}, json), { memory: { max: 100000000 }, cpu: { quota: 20000, period: 100000 }, pids: { max: 33 } });
});

test("errors name the flag or the JSON field, and the fix", () => {
  const rejects = (flags: UpdateFlags, json: string | undefined, field: string, message: RegExp): void =>
    assert.throws(() => parseUpdate(flags, json), (e: unknown) => e instanceof ValidationError && e.field === field && message.test(e.message), field);
  rejects({ memory: "lots" }, undefined, "--memory", /'lots' is not a size/);
  rejects({ "cpu-share": "1" }, undefined, "--cpu-share", /2\.\.262144/);
  rejects({ "cpu-period": "-5" }, undefined, "--cpu-period", /not a non-negative integer/);
  rejects({ "pids-limit": "5000000" }, undefined, "--pids-limit", /4194304/);
  rejects({ "cpuset-cpus": "a-b" }, undefined, "--cpuset-cpus", /./);
  rejects({ "kernel-memory": "10m" }, undefined, "--kernel-memory", /kernel memory limits are not supported/);
  rejects({ "cpu-rt-period": "1000" }, undefined, "--cpu-rt-period", /realtime CPU limits are not supported/);
  rejects({ "l3-cache-schema": "L3:0=f" }, undefined, "--l3-cache-schema", /Intel RDT/);
  rejects({ "memory-swap": "1g" }, undefined, "--memory-swap", /give --memory too/);
  rejects({ memory: "1g" }, "{}", "--memory", /cannot be combined with --resources/);
  rejects({}, "{nope", "--resources", /is not JSON/);
  rejects({}, JSON.stringify({ memory: { limit: "1g" } }), "resources.memory.limit", /is not an integer/);
  rejects({}, JSON.stringify({ cpu: { shares: 1 } }), "resources.cpu.shares", /2\.\.262144/);
  rejects({}, JSON.stringify({ unified: { "memory.high": "1" } }), "resources.unified", /not supported/);
});

test("the same update gives a hostform cgroup the limits `runc update` gives a runc container's", { skip: needsRoot || (hasRunc ? false : "runc is not installed") }, async (t) => {
  const id = testPrefix("ociupd-runc");
  const mine = testPrefix("ociupd");
  const c = await startRuncContainer(id, {});
  t.after(() => c.stop());
  const roots = openCgroupDriver(undefined, { parent: "" });
  const driver = openCgroupDriver();
  t.after(() => driver.delete(mine));
  driver.create(mine);
  const compare = (groups: readonly string[]): void => {
    const theirs = roots.read(id) as Record<string, unknown>;
    const ours = driver.read(mine) as Record<string, unknown>;
    for (const g of groups) assert.deepEqual(ours[g], theirs[g], g);
  };
  const flags: UpdateFlags = { memory: "100000000", "memory-reservation": "50m", "pids-limit": "77", "cpu-share": "512", "cpu-quota": "50000", "cpu-period": "200000", "cpuset-cpus": "0" };
  const r = c.runc(["update", ...Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v!]), id]);
  assert.equal(r.status, 0, r.stderr);
  driver.apply(mine, parseUpdate(flags));
  compare(["memory", "pids", "cpu", "cpuset"]);
  assert.equal(driver.read(mine).pids?.max, 77);
  const json = JSON.stringify({ memory: { limit: 200003584 }, cpu: { quota: -1 }, pids: { limit: -1 } });
  const r2 = c.runc(["update", "-r", "-", id], json);
  assert.equal(r2.status, 0, r2.stderr);
  driver.apply(mine, parseUpdate({}, json, driver.read(mine)));
  compare(["memory", "pids", "cpu"]);
  assert.deepEqual([driver.read(mine).pids?.max, driver.read(mine).memory?.max, driver.read(mine).cpu?.period], ["max", 200003584, 200000], "a quota alone keeps the period");
});

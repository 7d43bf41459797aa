// events --stats: hostform's cgroup stats in runc's JSON, checked field by field against runc's own
// `runc events --stats` of the same cgroup.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { CgroupStats } from "../../src/cgroup/controller";
import { openCgroupDriver } from "../../src/cgroup/driver";
import { statsEvent, UNLIMITED_MEMORY, type OciStatsEvent } from "../../src/runtime/ociStats";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { hasRunc, startRuncContainer } from "../helpers/runcContainer";

test("units and omitted fields as runc writes them: nanoseconds, zero counters left out, unlimited memory as v1 spells it", () => {
  const stats: CgroupStats = {
    cpu: { usageUsec: 1500, userUsec: 1000, systemUsec: 500, nrPeriods: 0, nrThrottled: 0, throttledUsec: 0 },
    memory: { current: 4096, peak: 8192, oomKill: 0, maxHits: 2 },
    pids: { current: 3 },
  };
  assert.deepEqual(statsEvent("c", stats, { memory: { max: "max" }, pids: { max: "max" } }), {
    type: "stats",
    id: "c",
    data: {
      cpu: { usage: { total: 1_500_000, kernel: 500_000, user: 1_000_000 }, throttling: {} },
      memory: { usage: { limit: UNLIMITED_MEMORY, usage: 4096, max: 8192, failcnt: 2 } },
      pids: { current: 3 },
      blkio: {},
    },
  });
  const throttled = statsEvent("c", { cpu: { nrPeriods: 10, nrThrottled: 4, throttledUsec: 7 } }, { pids: { max: 9 } });
  assert.deepEqual(throttled.data.cpu.throttling, { periods: 10, throttled_periods: 4, throttled_time: 7000 });
  assert.deepEqual(throttled.data.pids, { limit: 9 });
  assert.equal(JSON.stringify(UNLIMITED_MEMORY), "9223372036854772000", "the closest JSON text a double gives (Go reads it back as 2^63-4096)");
});

test("the event of a runc container's cgroup agrees with `runc events --stats`", { skip: needsRoot || (hasRunc ? false : "runc is not installed") }, async (t) => {
  const id = testPrefix("ocistats");
  const c = await startRuncContainer(id, { memory: { limit: 100000000 }, pids: { limit: 50 } });
  t.after(() => c.stop());
  const r = c.runc(["events", "--stats", id]);
  assert.equal(r.status, 0, r.stderr);
  const theirs = JSON.parse(r.stdout) as OciStatsEvent & { data: Record<string, unknown> };
  const driver = openCgroupDriver(undefined, { parent: "" });
  const ours = statsEvent(id, driver.stats(id), driver.read(id));
  assert.deepEqual([ours.type, ours.id], [theirs.type, theirs.id]);
  assert.deepEqual(Object.keys(ours.data).filter((k) => !(k in theirs.data)), [], "no section runc does not have");
  assert.deepEqual(Object.keys(ours.data.cpu.usage).filter((k) => !(k in theirs.data.cpu.usage)), []);
  assert.deepEqual(ours.data.pids, theirs.data.pids);
  assert.deepEqual(ours.data.pids, { current: 1, limit: 50 });
  const [mine, runcs] = [ours.data.memory.usage!, theirs.data.memory.usage!];
  assert.deepEqual([mine.limit, mine.failcnt], [runcs.limit, runcs.failcnt]);
  assert.equal(mine.limit, 99999744, "100000000 rounded down to a page, as the kernel keeps it");
  assert.ok((mine.usage ?? 0) > 0 && (mine.max ?? 0) >= (runcs.max ?? 0));
  // Read later, so never less, but CgroupStats keeps microseconds: up to 999 ns are cut off.
  assert.ok(ours.data.cpu.usage.total > theirs.data.cpu.usage.total - 1000 && ours.data.cpu.usage.total > 0, `${ours.data.cpu.usage.total} vs runc's ${theirs.data.cpu.usage.total}`);
  assert.deepEqual(ours.data.cpu.throttling, theirs.data.cpu.throttling);
});

// The Cgroup provider against the real cgroupfs: create (and adopt), read, out-of-band changes
// seen by read and diff and repaired by update, nesting, lifted limits, idempotent delete.
import assert from "node:assert/strict";
import { rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { openCgroupDriver } from "../../src/cgroup/driver";
import { provider, type CgroupInputs, type CgroupOutputs } from "../../providers/impl/v1/cgroup";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { testOwner } from "../helpers/owner";

const MiB = 1024 * 1024;

async function checked(news: CgroupInputs): Promise<CgroupInputs> {
  const r = await provider.check!({} as CgroupInputs, { __owner: testOwner(news.resourceName ?? ""), ...news });
  assert.deepEqual(r.failures, []);
  return r.inputs!;
}

/** Writes a pids limit behind hostform's back, in whichever hierarchy holds pids on this host. */
function rewritePidsMax(out: CgroupOutputs, value: number): void {
  if (out.paths.v1.pids !== undefined) writeFileSync(join(out.paths.v1.pids, "pids.max"), String(value));
  else writeFileSync(join(out.paths.v2!, "pids.max"), String(value));
}

test("create adopts, read sees rewritten limits, diff reports them, update repairs", { skip: needsRoot }, async () => {
  const name = testPrefix("prov-cg");
  const inputs = await checked({ resourceName: "web", name, memory: { max: "64Mi" }, pids: { max: 50 } });
  try {
    const created = await provider.create(inputs);
    assert.equal(created.id, name);
    const outs = created.outs!;
    assert.deepEqual(outs.limits, { memory: { max: 64 * MiB }, pids: { max: 50 } });
    assert.ok(["v1", "v2", "hybrid"].includes(outs.version));
    assert.ok(outs.path.endsWith(`/hostform/${name}`), outs.path);

    // An interrupted up re-runs create: the existing cgroup is adopted, not an error.
    const again = await provider.create(inputs);
    assert.deepEqual(again.outs!.limits, outs.limits);

    assert.deepEqual(await provider.diff!(name, outs, inputs), { changes: false });
    rewritePidsMax(outs, 7);
    const read = await provider.read!(name, outs);
    assert.equal(read.id, name);
    assert.deepEqual(read.props!.limits, { memory: { max: 64 * MiB }, pids: { max: 7 } });
    assert.deepEqual(await provider.diff!(name, outs, inputs), { changes: true });
    const updated = await provider.update!(name, outs, inputs);
    assert.deepEqual(updated.outs!.limits, outs.limits);
    assert.deepEqual(await provider.diff!(name, updated.outs!, inputs), { changes: false });

    // A limit no longer declared is lifted, not left behind.
    const fewer = await checked({ resourceName: "web", name, pids: { max: 50 } });
    await provider.update!(name, updated.outs!, fewer);
    assert.equal(openCgroupDriver().read(name).memory?.max, "max");
  } finally {
    await provider.delete!(name, {} as CgroupOutputs);
  }
  assert.equal(openCgroupDriver().exists(name), false);
});

test("a deleted cgroup reads as gone and is made again by update; delete is idempotent", { skip: needsRoot }, async () => {
  const name = testPrefix("prov-cg");
  const inputs = await checked({ resourceName: "gone", name, pids: { max: 20 } });
  try {
    const { outs } = await provider.create(inputs);
    await openCgroupDriver().delete(name);
    assert.deepEqual(await provider.read!(name, outs!), { id: "", props: {} });
    assert.deepEqual(await provider.diff!(name, outs!, inputs), { changes: true });
    const updated = await provider.update!(name, outs!, inputs);
    assert.deepEqual(updated.outs!.limits, { pids: { max: 20 } });
    assert.equal(openCgroupDriver().exists(name), true);
  } finally {
    await provider.delete!(name, {} as CgroupOutputs);
    await provider.delete!(name, {} as CgroupOutputs);
  }
  assert.equal(openCgroupDriver().exists(name), false);
});

test("a nested cgroup lives under its parent's full name", { skip: needsRoot }, async () => {
  const parentName = testPrefix("prov-pod");
  const parent = await provider.create(await checked({ resourceName: "pod", name: parentName, pids: { max: 100 } }));
  try {
    const child = await provider.create(await checked({ resourceName: "web", parentName, memory: { max: "32Mi" } }));
    assert.match(child.id, new RegExp(`^${parentName}/web-[0-9a-f]{8}$`));
    assert.ok(child.outs!.path.endsWith(`/hostform/${child.id}`));
    assert.deepEqual(child.outs!.limits, { memory: { max: 32 * MiB } });
    await provider.delete!(child.id, child.outs!);
    assert.equal(openCgroupDriver().exists(child.id), false);
    assert.equal(openCgroupDriver().exists(parentName), true);
  } finally {
    await provider.delete!(parent.id, parent.outs!);
  }
  assert.equal(openCgroupDriver().exists(parentName), false);
});

test("a cgroup removed from one v1 hierarchy reads as partly missing, naming it, and update makes it whole", { skip: needsRoot }, async (t) => {
  const name = testPrefix("prov-cg-partial");
  const inputs = await checked({ resourceName: "web", name, memory: { max: "64Mi" }, pids: { max: 50 } });
  try {
    const outs = (await provider.create(inputs)).outs!;
    const memoryDir = outs.paths.v1.memory;
    if (memoryDir === undefined) return t.skip("no v1 memory hierarchy: one directory per cgroup, nothing to lose in part");
    assert.deepEqual(outs.missingHierarchies, []);
    rmdirSync(memoryDir);
    const read = await provider.read!(name, outs);
    assert.equal(read.id, name, "still there in the other hierarchies");
    assert.deepEqual(read.props!.missingHierarchies, ["memory"]);
    assert.deepEqual(read.props!.limits, { memory: { max: null }, pids: { max: 50 } });
    assert.deepEqual(await provider.diff!(name, outs, inputs), { changes: true });
    const updated = await provider.update!(name, outs, inputs);
    assert.deepEqual(updated.outs!.missingHierarchies, []);
    assert.deepEqual(updated.outs!.limits, outs.limits);
    assert.deepEqual(await provider.diff!(name, updated.outs!, inputs), { changes: false });
  } finally {
    await provider.delete!(name, {} as CgroupOutputs);
  }
  assert.equal(openCgroupDriver().exists(name), false);
});

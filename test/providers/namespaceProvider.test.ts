// The Namespace provider against real namespaces: create (and adopt), read, a pin removed behind
// hostform's back seen by read and diff (a replacement, deleting first), recreated by create; a set
// deleted and made again out of band is another set even with the same inode numbers; an import
// reads a set hostform did not record an owner for and takes it over.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, test } from "node:test";
import { provider, type NamespaceInputs, type NamespaceOutputs } from "../../providers/impl/v1/namespace";
import { createNamespaces, deleteNamespaces, inspectNamespaces, type NamespaceType } from "../../src/ns";
import { MNT_DETACH } from "../../src/sys/constants";
import { umount2 } from "../../src/sys/libc";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { useTestRunDir } from "../../fixtures/nsRunDir";
import { testOwner } from "../helpers/owner";

// Sets made here are pinned under a run dir of this file, never /run/hostform.
const cleanRunDir = useTestRunDir();
after(cleanRunDir);

test("create adopts, a removed pin is drift that replaces, delete is idempotent", { skip: needsRoot }, async () => {
  const name = testPrefix("prov-ns");
  const checked = await provider.check!({} as NamespaceInputs, { resourceName: "pod", name, __owner: testOwner("pod"), types: ["uts", "net"] });
  assert.deepEqual(checked.failures, []);
  const inputs = checked.inputs!;
  try {
    const created = await provider.create(inputs);
    const outs = created.outs!;
    assert.equal(created.id, name);
    assert.deepEqual(outs.types, ["net", "uts"]);
    assert.equal(outs.intact, true);
    assert.equal(outs.holderPid, 0);
    assert.ok(outs.inodes.net! > 0 && outs.inodes.uts! > 0);

    const adopted = await provider.create(inputs);
    assert.deepEqual(adopted.outs!.inodes, outs.inodes, "same namespaces, not new ones");
    assert.deepEqual(await provider.diff!(name, outs, inputs), { changes: false });

    umount2(outs.paths.net!, MNT_DETACH);
    const read = await provider.read!(name, outs);
    assert.equal(read.id, name);
    assert.equal(read.props!.intact, false);
    assert.equal(read.props!.inodes.net, undefined);
    assert.equal(read.props!.inodes.uts, outs.inodes.uts);
    assert.deepEqual(await provider.diff!(name, outs, inputs), { changes: true, replaces: ["inodes"], deleteBeforeReplace: true });

    // What the engine does for a delete-before-replace.
    await provider.delete!(name, outs);
    const fresh = await provider.create(inputs);
    assert.equal(fresh.outs!.intact, true);
    // (nsfs may hand the freed inode number to the new namespace, so the numbers can match.)
    assert.ok(fresh.outs!.inodes.net! > 0);
    assert.deepEqual(await provider.diff!(name, fresh.outs!, inputs), { changes: false });
  } finally {
    await provider.delete!(name, {} as NamespaceOutputs);
    await provider.delete!(name, {} as NamespaceOutputs);
  }
  assert.deepEqual(await provider.read!(name, {} as NamespaceOutputs), { id: "", props: {} });
});

test("a set with pid keeps a holder that delete ends", { skip: needsRoot }, async () => {
  const checked = await provider.check!({} as NamespaceInputs, { resourceName: testPrefix("prov-pid"), __owner: testOwner("pid"), types: ["pid", "ipc"] });
  const inputs = checked.inputs!;
  const { id, outs } = await provider.create(inputs);
  try {
    assert.ok(outs!.holderPid > 1);
    assert.ok(existsSync(`/proc/${outs!.holderPid}`));
  } finally {
    await provider.delete!(id, outs!);
  }
  assert.equal((await provider.read!(id, outs!)).id, "");
});

for (const types of [["uts", "net"], ["pid", "net"]] as NamespaceType[][]) {
  test(`a set (${types.join(", ")}) deleted and made again out of band is replaced, even with the same inodes`, { skip: needsRoot }, async () => {
    const checked = await provider.check!({} as NamespaceInputs, { resourceName: testPrefix("prov-again"), __owner: testOwner("again"), types });
    const inputs = checked.inputs!;
    const { id, outs } = await provider.create(inputs);
    try {
      assert.ok(outs!.createdAt !== "" && outs!.identity.startsWith(outs!.createdAt));
      if (types.includes("pid")) assert.ok(outs!.holderStartTime > 0 && outs!.identity.includes(`holder ${outs!.holderPid}@${outs!.holderStartTime}`));
      assert.deepEqual(await provider.diff!(id, outs!, inputs), { changes: false });

      await deleteNamespaces(id);
      // createdAt has millisecond resolution: make sure the new set cannot share it.
      await new Promise((r) => setTimeout(r, 5));
      const again = await createNamespaces(id, types);
      assert.equal(again.intact, true);
      assert.deepEqual(await provider.diff!(id, outs!, inputs), { changes: true, replaces: ["identity"], deleteBeforeReplace: true });
      // nsfs reuses freed inode numbers, so the old state may well show the new set's inodes.
      const sameInodes = { ...outs!, inodes: again.inodes };
      assert.deepEqual(await provider.diff!(id, sameInodes, inputs), { changes: true, replaces: ["identity"], deleteBeforeReplace: true });
      // Refresh sees the recorded set gone (not silently adopting the newcomer).
      assert.deepEqual(await provider.read!(id, sameInodes), { id: "", props: {} });
      // State written before identity was recorded still goes by inodes.
      const legacy = { ...sameInodes } as Partial<NamespaceOutputs>;
      delete legacy.identity;
      assert.deepEqual(await provider.diff!(id, legacy as NamespaceOutputs, inputs), { changes: false });
      assert.equal((await provider.read!(id, legacy as NamespaceOutputs)).id, id);

      // What up does next (a delete-before-replace): the new set's outputs carry a new identity
      // for dependents to key on. (Create alone refuses the newcomer: it records no owner.)
      await assert.rejects(provider.create(inputs), /already exists and was not made by hostform/);
      await provider.delete!(id, outs!);
      const fresh = await provider.create(inputs);
      assert.notEqual(fresh.outs!.identity, outs!.identity);
      assert.deepEqual(await provider.diff!(id, fresh.outs!, inputs), { changes: false });
    } finally {
      await provider.delete!(id, {} as NamespaceOutputs);
    }
    assert.equal((await provider.read!(id, outs!)).id, "");
  });
}

test("import: read by id reports the live set's types, diff against the declaration decides, update takes the set over", { skip: needsRoot }, async () => {
  const name = testPrefix("prov-import");
  // Made outside any stack: no owner recorded.
  await createNamespaces(name, ["uts", "net"]);
  try {
    const owner = testOwner("imported");
    const declared = (await provider.check!({} as NamespaceInputs, { resourceName: "imported", name, __owner: owner, types: ["uts", "net"] })).inputs!;
    // What the engine's import hands Read: the declared inputs in place of outputs it does not have.
    const read = await provider.read!(name, declared as NamespaceOutputs);
    assert.equal(read.id, name);
    assert.deepEqual(read.props!.types, ["net", "uts"]);
    assert.deepEqual(await provider.diff!(name, read.props!, declared), { changes: false });
    const other = (await provider.check!({} as NamespaceInputs, { resourceName: "imported", name, __owner: owner, types: ["net", "ipc"] })).inputs!;
    // A declaration with other types reads the live types back, so the diff names them.
    const readOther = await provider.read!(name, other as NamespaceOutputs);
    assert.deepEqual(readOther.props!.types, ["net", "uts"]);
    assert.deepEqual(await provider.diff!(name, readOther.props!, other), { changes: true, replaces: ["types"], deleteBeforeReplace: true });
    assert.equal(inspectNamespaces(name)!.owner, undefined);
    await provider.update!(name, read.props!, declared);
    assert.deepEqual(inspectNamespaces(name)!.owner, owner);
    // From now on it is this resource's: a retried create is idempotent, another owner is refused.
    assert.equal((await provider.create(declared)).id, name);
    await assert.rejects(provider.create({ ...declared, __owner: testOwner("intruder") }), /belongs to resource hostform:Test::imported of stack hostform-test\/providers/);
  } finally {
    await deleteNamespaces(name);
  }
});

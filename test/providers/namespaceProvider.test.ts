// The Namespace provider against real namespaces: create (and adopt), read, a pin removed behind
// hostform's back seen by read and diff (a replacement, deleting first), recreated by create.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { provider, type NamespaceInputs, type NamespaceOutputs } from "../../providers/impl/v1/namespace";
import { MNT_DETACH } from "../../src/sys/constants";
import { umount2 } from "../../src/sys/libc";
import { needsRoot, testPrefix } from "../helpers/prefix";

test("create adopts, a removed pin is drift that replaces, delete is idempotent", { skip: needsRoot }, async () => {
  const name = testPrefix("prov-ns");
  const checked = await provider.check!({} as NamespaceInputs, { resourceName: "pod", name, types: ["uts", "net"] });
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
  const checked = await provider.check!({} as NamespaceInputs, { resourceName: testPrefix("prov-pid"), types: ["pid", "ipc"] });
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

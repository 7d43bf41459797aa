// The BusyboxRootfs provider on the real filesystem (under a prefixed HOSTFORM_LIB_DIR): built
// atomically, adopted, damage seen by read and diff and rebuilt by update, removed by delete.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { provider, type BusyboxRootfsInputs } from "../../providers/impl/v1/busyboxRootfs";
import { needsRoot, testPrefix } from "../../fixtures/prefix";

const lib = join(tmpdir(), testPrefix("prov-lib"));
before(() => {
  process.env.HOSTFORM_LIB_DIR = lib;
});
after(() => {
  delete process.env.HOSTFORM_LIB_DIR;
  rmSync(lib, { recursive: true, force: true });
});

test("build, adopt, damage, rebuild, delete", { skip: needsRoot }, async () => {
  const checked = await provider.check!({} as BusyboxRootfsInputs, { resourceName: "rootfs", applets: ["sh", "echo", "sleep"] });
  assert.deepEqual(checked.failures, []);
  const inputs = checked.inputs!;
  const { id, outs } = await provider.create(inputs);
  try {
    assert.equal(id, join(lib, "rootfs", inputs.name!));
    assert.equal(outs!.intact, true);
    assert.equal(outs!.appletCount, 3);
    assert.equal(readlinkSync(join(id, "bin", "sh")), "busybox");
    assert.ok(existsSync(join(id, "proc")) && existsSync(join(id, "etc", "passwd")));

    const again = await provider.create(inputs);
    assert.equal(again.outs!.busyboxDigest, outs!.busyboxDigest);
    assert.deepEqual(await provider.diff!(id, outs!, inputs), { changes: false });

    writeFileSync(join(id, "bin", "busybox"), "not busybox");
    const read = await provider.read!(id, outs!);
    assert.equal(read.props!.intact, false);
    assert.notEqual(read.props!.busyboxDigest, outs!.busyboxDigest);
    assert.deepEqual(await provider.diff!(id, outs!, inputs), { changes: true });
    const rebuilt = await provider.update!(id, outs!, inputs);
    assert.equal(rebuilt.outs!.intact, true);
    assert.equal(rebuilt.outs!.busyboxDigest, outs!.busyboxDigest);
  } finally {
    await provider.delete!(id, outs!);
    await provider.delete!(id, outs!);
  }
  assert.equal(existsSync(id), false);
  assert.deepEqual(await provider.read!(id, outs!), { id: "", props: {} });
});

test("a directory hostform did not build is refused and left alone", { skip: needsRoot }, async () => {
  const name = testPrefix("prov-foreign");
  const dir = join(lib, "rootfs", name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "keep"), "mine");
  try {
    const inputs = (await provider.check!({} as BusyboxRootfsInputs, { resourceName: "x", name, applets: ["sh"] })).inputs!;
    await assert.rejects(provider.create(inputs), /name: .* was not built by hostform/);
    assert.ok(existsSync(join(dir, "keep")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

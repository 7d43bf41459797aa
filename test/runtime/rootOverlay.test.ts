// Copy-on-write roots: the supervisor mounts the container's layers as overlayfs under its own
// directory, so containers sharing one root directory never see each other's writes, the directory
// itself never changes, a restart keeps the container's writes, and delete leaves no mount behind.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ValidationError } from "../../src/sys/errors";
import { readMountinfo } from "../../src/sys/mountinfo";
import { containerDir, readState } from "../../src/runtime/state";
import { needsRoot } from "../../fixtures/prefix";
import { makeSupervisorFixture, until, type SupervisorFixture } from "./supervisorFixture";

let f: SupervisorFixture;
let topLayer: string;

before(() => {
  if (needsRoot !== false) return;
  f = makeSupervisorFixture("cow");
  // A second layer over the busybox root: one file added, one replaced.
  topLayer = `${f.bundle}/top`;
  mkdirSync(join(topLayer, "etc"), { recursive: true });
  writeFileSync(join(topLayer, "etc", "layer"), "from the top layer\n");
});

after(async () => {
  await f?.cleanup();
});

function mountedUnder(prefix: string): string[] {
  return readMountinfo().filter((m) => m.mountPoint.includes(prefix)).map((m) => m.mountPoint);
}

async function run(id: string, script: string, rootLayers: string[]): Promise<void> {
  await f.client.create(id, f.spec(["sh", "-c", script]), { rootLayers });
  await f.client.start(id);
  const w = await f.client.wait(id);
  assert.equal(w.exitCode, 0, `${id}: ${readFileSync(readState(id)!.logPath, "utf8")}`);
}

test("two containers on one root directory write copy-on-write: neither sees the other's file, the directory is unchanged", { skip: needsRoot }, async () => {
  const a = f.id("a");
  const b = f.id("b");
  await run(a, "echo mine > /etc/written && cat /etc/layer", [topLayer, f.rootfs]);
  await run(b, "test ! -e /etc/written && echo other > /etc/written", [topLayer, f.rootfs]);
  assert.equal(existsSync(join(f.rootfs, "etc", "written")), false, "the shared root directory is not written");
  assert.equal(existsSync(join(topLayer, "etc", "written")), false, "the top layer is not written");
  assert.equal(readFileSync(join(containerDir(a), "upper", "etc", "written"), "utf8"), "mine\n");
  assert.equal(readFileSync(join(containerDir(b), "upper", "etc", "written"), "utf8"), "other\n");
  assert.equal(readState(a)!.spec.root.path, join(containerDir(a), "rootfs"));
  assert.deepEqual(readState(a)!.rootLayers, [topLayer, f.rootfs]);
  // The container's output shows the top layer's file through the merged root.
  assert.match(readFileSync(readState(a)!.logPath, "utf8"), /from the top layer/);
  await f.client.delete(a);
  await f.client.delete(b);
  assert.deepEqual(mountedUnder(f.prefix), [], "delete unmounts the merged roots");
  assert.equal(existsSync(containerDir(a)), false);
});

test("a restart keeps what the container wrote", { skip: needsRoot }, async () => {
  const id = f.id("restart");
  // Fails on its first run (count 1), so on-failure runs it again over the same upper (count 2).
  const script = "c=$((`cat /count 2>/dev/null || echo 0` + 1)); echo $c > /count; [ $c -ge 2 ]";
  await f.client.create(id, f.spec(["sh", "-c", script]), { rootLayers: [f.rootfs], restartPolicy: "on-failure:3" });
  await f.client.start(id);
  assert.ok(await until(async () => (await f.client.state(id)).status === "stopped" && (await f.client.state(id)).exitCode === 0, 30_000), "the second run succeeded");
  assert.equal((await f.client.state(id)).restartCount, 1);
  assert.equal(readFileSync(join(containerDir(id), "upper", "count"), "utf8"), "2\n");
  assert.equal(existsSync(join(f.rootfs, "count")), false);
  await f.client.delete(id);
  assert.deepEqual(mountedUnder(f.prefix), []);
});

test("bad layers are refused by name before anything is made", { skip: needsRoot }, async () => {
  const id = f.id("bad");
  await assert.rejects(f.client.create(id, f.spec(["true"]), { rootLayers: [join(f.bundle, "missing")] }), (e: unknown) => e instanceof ValidationError && e.field === "rootLayers[0]");
  await assert.rejects(f.client.create(id, f.spec(["true"]), { rootLayers: [] }), (e: unknown) => e instanceof ValidationError && e.field === "rootLayers");
  // The program is looked up in the merged root; missing there, the mount is undone with the rest.
  await assert.rejects(f.client.create(id, f.spec(["/nope"]), { rootLayers: [f.rootfs] }), (e: unknown) => e instanceof ValidationError && e.field === "process.args[0]");
  assert.equal(existsSync(containerDir(id)), false);
  assert.deepEqual(mountedUnder(f.prefix), []);
  assert.ok(statSync(f.rootfs).isDirectory());
});

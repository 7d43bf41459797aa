// userns "auto" through the supervisor (issue 16): each container gets a block of hostform's
// /etc/subuid range that no other has, its root (copy-on-write layers or a directory) is ID-mapped
// so the image's root-owned files are its root's, two containers with different blocks share one
// root directory (never chowned), and delete frees the block and leaves no mount.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { readMountinfo } from "../../src/sys/mountinfo";
import { containerDir, readState } from "../../src/runtime/state";
import { autoBlocks } from "../../src/ns/subordinateIds";
import { autoUsernsUnavailable } from "../helpers/usernsAuto";
import { needsRoot } from "../../fixtures/prefix";
import { statusField } from "../helpers/procStatus";
import { readProcStat } from "../../src/ns/procStat";
import { spawnSync } from "node:child_process";
import { pullImage } from "../../src/image/pull";
import { blobPath } from "../../src/image/layout";
import { unpackLayer } from "../../src/image/layers";
import { writeDockerArchive } from "../../fixtures/ociClients/dockerArchive";
import { makeSupervisorFixture, until, type SupervisorFixture } from "./supervisorFixture";

const skip = needsRoot || autoUsernsUnavailable();

let f: SupervisorFixture;

before(() => {
  if (skip !== false) return;
  // The supervisor drops its warm inits after 3 s without a create; the v2 VM under TCG takes
  // longer than that to start one, and the test looks for the one it warms.
  process.env.HOSTFORM_SUPERVISOR_POOL_IDLE_MS = "300000";
  f = makeSupervisorFixture("usernsauto");
  // mkdtemp's 0700: the mapped root must be let through to the layers and the directory root.
  chmodSync(f.bundle, 0o755);
});

after(async () => {
  await f?.cleanup();
});

function mountedUnder(prefix: string): string[] {
  return readMountinfo().filter((m) => m.mountPoint.includes(prefix)).map((m) => m.mountPoint);
}

/** The first host uid each child of the supervisor maps (its warm inits with a user namespace). */
function warmInitsOf(supervisor: number): number[] {
  const out: number[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (readProcStat(Number(pid))?.ppid !== supervisor) continue;
      out.push(Number(readFileSync(`/proc/${pid}/uid_map`, "utf8").trim().split(/\s+/)[1]));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Creates and starts a container that reports and then sleeps; returns its id and host uid. */
async function startReporting(name: string, script: string, options: { rootLayers?: string[] }): Promise<{ id: string; hostUid: number; log: () => string }> {
  const id = f.id(name);
  await f.client.create(id, f.spec(["sh", "-c", `${script}; echo reported; exec sleep 60`]), { ...options, userns: "auto" });
  const st = await f.client.start(id);
  const log = (): string => readFileSync(readState(id)!.logPath, "utf8");
  assert.ok(await until(() => log().includes("reported"), 60_000), `${id} never reported: ${log()}`);
  return { id, hostUid: Number(statusField(readFileSync(`/proc/${st.pid}/status`, "utf8"), "Uid").split(/\s+/)[0]), log };
}

test('userns "auto": two containers on one root directory get different blocks, see its files as their root\'s, and write into their own upper directories', { skip }, async () => {
  const blocks = autoBlocks();
  const script = "id -u; stat -c %u /bin/busybox; echo mine > /written; stat -c %u /written";
  const a = await startReporting("a", script, { rootLayers: [f.rootfs] });
  const b = await startReporting("b", script, { rootLayers: [f.rootfs] });
  try {
    assert.notEqual(a.hostUid, b.hostUid);
    for (const c of [a, b]) {
      assert.ok(blocks.some((bl) => bl.start === c.hostUid), `${c.hostUid} is a block of hostform's range`);
      // Inside: root, and the root-owned image file is its root's (ID-mapped, not chowned).
      assert.match(c.log(), /^0\n0\n0\nreported\n/);
      const mappings = readState(c.id)!.spec.linux!.uidMappings;
      assert.deepEqual(mappings, [{ containerID: 0, hostID: c.hostUid, size: 65536 }]);
      // The write is the container's own: in its upper directory, owned by its root's host uid.
      assert.equal(statSync(join(containerDir(c.id), "upper", "written")).uid, c.hostUid);
    }
    assert.equal(statSync(join(f.rootfs, "bin", "busybox")).uid, 0, "the shared root directory is not chowned");
    // The supervisor keeps an init warm for the block the next "auto" container will get.
    const next = blocks.find((bl) => bl.start !== a.hostUid && bl.start !== b.hostUid)!.start;
    assert.ok(await until(() => warmInitsOf(f.supervisorPid()!).includes(next), 120_000), `no init waits with block ${next}`);
  } catch (err) {
    await f.client.delete(b.id, { force: true });
    throw err;
  } finally {
    await f.client.delete(a.id, { force: true });
  }
  // a's block is free again: the next container gets it.
  const c = await startReporting("c", "id -u", { rootLayers: [f.rootfs] });
  assert.equal(c.hostUid, a.hostUid);
  await f.client.delete(b.id, { force: true });
  await f.client.delete(c.id, { force: true });
  assert.deepEqual(mountedUnder(f.prefix), [], "delete unmounts the ID-mapped roots and staged layers");
});

test('userns "auto": two containers with different blocks run on one image (a docker-archive pulled into a store)', { skip: skip || (spawnSync("skopeo", ["--version"]).status !== 0 && "skopeo is not installed") }, async () => {
  const store = join(f.bundle, "store");
  const archive = join(f.bundle, "image.tar");
  writeDockerArchive(f.rootfs, "localhost/hfuserns:v1", archive, join(f.bundle, "archive-work"));
  const image = await pullImage({ ref: `docker-archive:${archive}` }, { store, owner: "usernsAuto" });
  // Unpacked bottom up as the Image resource unpacks them; rootLayers take them topmost first.
  const layers: string[] = [];
  for (const l of image.layers) layers.unshift(await unpackLayer(store, { diffId: l.diffId, blobPath: blobPath(store, l.digest), mediaType: l.mediaType }, [...layers]));
  const a = await startReporting("img-a", "stat -c %u /bin/busybox", { rootLayers: layers });
  const b = await startReporting("img-b", "stat -c %u /bin/busybox", { rootLayers: layers });
  try {
    assert.notEqual(a.hostUid, b.hostUid);
    assert.match(a.log(), /^0\nreported\n/);
    assert.match(b.log(), /^0\nreported\n/);
    for (const l of layers) assert.equal(statSync(join(l, "bin", "busybox")).uid, 0, "the image's layer is shared, not chowned");
  } finally {
    await f.client.delete(a.id, { force: true });
    await f.client.delete(b.id, { force: true });
  }
  assert.deepEqual(mountedUnder(f.prefix), []);
});

test('userns "auto" on a directory root used in place: an ID-mapped bind, writes land in the directory as the container sees them', { skip }, async () => {
  const d = await startReporting("dir", "stat -c %u /bin/busybox; touch /made-in-place; stat -c %u /made-in-place", {});
  try {
    assert.match(d.log(), /^0\n0\nreported\n/);
    assert.equal(statSync(join(f.rootfs, "made-in-place")).uid, 0);
  } finally {
    await f.client.delete(d.id, { force: true });
  }
  assert.deepEqual(mountedUnder(f.prefix), []);
  assert.equal(statSync(join(f.rootfs, "bin", "busybox")).uid, 0, "delete never reached into the bound directory");
});

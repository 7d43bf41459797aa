// The Container and Namespace providers with user namespaces (issue 16), against the real host:
// userns "auto" gives each container its own block of hostform's range, freed on delete; a
// Namespace with "user" holds a user namespace its containers share (the pod's block), with their
// roots ID-mapped; a user namespace pin swapped behind hostform's back is drift that replaces the set.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { RuntimeClient } from "../../src/runtime/client";
import { isMountPoint } from "../../src/ns/pin";
import { createNamespaces, deleteNamespaces } from "../../src/ns";
import { autoBlocks } from "../../src/ns/subordinateIds";
import { MNT_DETACH } from "../../src/sys/constants";
import { umount2 } from "../../src/sys/libc";
import { spawnSync } from "node:child_process";
import { appletList, buildBusyboxRootfs, findBusybox } from "../../providers/rootfs/busybox";
import { provider, type ContainerInputs, type ContainerOutputs } from "../../providers/impl/v1/container";
import { provider as nsProvider, type NamespaceInputs } from "../../providers/impl/v1/namespace";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { testOwner } from "../helpers/owner";
import { statusField } from "../helpers/procStatus";
import { autoUsernsUnavailable } from "../helpers/usernsAuto";

const skip = needsRoot || autoUsernsUnavailable();
const prefix = testPrefix("ctruserns");
const dir = join(tmpdir(), prefix);
const runDir = join(dir, "run");
const rootfs = join(dir, "rootfs");
process.env.HOSTFORM_RUN_DIR = runDir;
const made = new Set<ContainerOutputs>();

if (skip === false) {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const busybox = findBusybox(undefined);
  buildBusyboxRootfs(rootfs, busybox, appletList(busybox, ["sh", "sleep", "stat"]));
}

after(async () => {
  if (skip !== false) return;
  for (const o of made) await provider.delete!(o.containerId, o).catch(() => undefined);
  await new RuntimeClient({ runDir }).shutdownSupervisor().catch(() => undefined);
  if (isMountPoint(join(runDir, "ns"))) umount2(join(runDir, "ns"), MNT_DETACH);
  rmSync(dir, { recursive: true, force: true });
});

const LOOP = ["/bin/sh", "-c", "trap 'exit 0' TERM; stat -c %u /bin/busybox; while true; do sleep 1 & wait; done"];

async function create(name: string, extra: Partial<ContainerInputs>): Promise<{ inputs: ContainerInputs; outs: ContainerOutputs }> {
  const checked = await provider.check!({} as ContainerInputs, { resourceName: name, name: `${prefix}-${name}`, __owner: testOwner(name), rootfs, command: LOOP, stopTimeout: 5, seccomp: "unconfined", ...extra });
  assert.deepEqual(checked.failures, []);
  const r = await provider.create(checked.inputs!);
  made.add(r.outs!);
  return { inputs: checked.inputs!, outs: r.outs! };
}

function hostUid(pid: number): number {
  return Number(statusField(readFileSync(`/proc/${pid}/status`, "utf8"), "Uid").split(/\s+/)[0]);
}

test('userns "auto": each container its own block, in sync on diff, the block free again after delete', { skip }, async () => {
  const starts = new Set(autoBlocks().map((b) => b.start));
  const a = await create("auto-a", { userns: "auto" });
  const b = await create("auto-b", { userns: "auto" });
  const [ua, ub] = [hostUid(a.outs.pid), hostUid(b.outs.pid)];
  assert.ok(starts.has(ua) && starts.has(ub) && ua !== ub, `${ua} ${ub}`);
  assert.notEqual(a.outs.namespaces.user, b.outs.namespaces.user, "each its own user namespace");
  // The block each got is an output, read from its PID 1.
  assert.deepEqual(a.outs.idMappings, { uid: [{ containerID: 0, hostID: ua, size: 65536 }], gid: [{ containerID: 0, hostID: ua, size: 65536 }] });
  const plain = await create("plain", {});
  assert.equal(plain.outs.idMappings, null, "the host's user namespace");
  assert.equal((await provider.diff!(a.outs.containerId, a.outs, a.inputs)).changes, false);
  assert.deepEqual((await provider.diff!(a.outs.containerId, a.outs, { ...a.inputs, userns: "host" })).replaces, ["userns"]);
  await provider.delete!(a.outs.containerId, a.outs);
  made.delete(a.outs);
  const c = await create("auto-c", { userns: "auto" });
  assert.equal(hostUid(c.outs.pid), ua, "a's block is handed out again");
  // Explicit mappings, as in an OCI spec.
  const mapped = [{ containerID: 0, hostID: 2_400_000_000, size: 65536 }];
  const e = await create("explicit", { userns: { uidMappings: mapped, gidMappings: mapped } });
  assert.equal(hostUid(e.outs.pid), 2_400_000_000);
});

test("a Namespace with a user namespace: its containers share it and its block, their roots ID-mapped; a pin swapped by hand is drift", { skip }, async () => {
  const name = `${prefix}-pod`;
  const checked = await nsProvider.check!({} as NamespaceInputs, { resourceName: "pod", name, __owner: testOwner("pod"), types: ["user", "uts", "ipc", "net"] });
  assert.deepEqual(checked.failures, []);
  assert.equal(checked.inputs!.userns, "auto", "auto by default with user in types");
  const pod = await nsProvider.create(checked.inputs!);
  const outs = pod.outs!;
  try {
    const block = outs.idMappings!.uid[0]!.hostID;
    assert.ok(autoBlocks().some((b) => b.start === block));
    const member = (n: string) => create(n, { namespaceName: name, namespacePaths: outs.paths, namespaceInodes: outs.inodes, namespaceIdentity: outs.identity, namespaceIdMappings: outs.idMappings });
    const m1 = await member("pod-1");
    const m2 = await member("pod-2");
    for (const m of [m1, m2]) {
      assert.equal(m.outs.namespaces.user, outs.inodes.user);
      assert.equal(hostUid(m.outs.pid), block);
    }
    // The root is ID-mapped with the pod's block: the image's root-owned file is the container root's.
    const log = readFileSync(JSON.parse(readFileSync(join(runDir, "containers", m1.outs.containerId, "state.json"), "utf8")).logPath as string, "utf8");
    assert.match(log, /^0$/m);
    // A container cannot bring a userns of its own into the pod.
    const bad = await provider.check!({} as ContainerInputs, { resourceName: "pod-bad", name: `${prefix}-pod-bad`, __owner: testOwner("pod-bad"), rootfs, command: LOOP, userns: "auto", namespaceName: name, namespacePaths: outs.paths, namespaceInodes: outs.inodes, namespaceIdMappings: outs.idMappings });
    assert.ok(bad.failures!.some((f) => f.property === "userns"), JSON.stringify(bad.failures));
    for (const m of [m1, m2]) {
      await provider.delete!(m.outs.containerId, m.outs);
      made.delete(m.outs);
    }
    // Drift: another user namespace bound over the pod's pin.
    const other = await createNamespaces(`${name}-x`, ["user"], undefined, { idMappings: { uid: [{ containerID: 0, hostID: 2_300_000_000, size: 65536 }], gid: [{ containerID: 0, hostID: 2_300_000_000, size: 65536 }] } });
    try {
      assert.equal(spawnSync("mount", ["--bind", other.paths.user!, outs.paths.user!]).status, 0);
      const read = await nsProvider.read!(name, outs);
      assert.equal(read.props!.intact, false);
      assert.deepEqual(await nsProvider.diff!(name, outs, checked.inputs!), { changes: true, replaces: ["inodes"], deleteBeforeReplace: true });
    } finally {
      await deleteNamespaces(`${name}-x`);
    }
  } finally {
    await nsProvider.delete!(name, outs);
  }
});

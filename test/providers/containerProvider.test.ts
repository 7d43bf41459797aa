// Kernel tests of the Container provider: create/read/diff/update/delete against the real host,
// with out-of-band changes (a limit rewritten in cgroupfs, PID 1 killed, the cgroup deleted)
// reported by read and diff and repaired by the next update. The supervisor runs in a prefixed
// run dir of its own and is shut down at the end.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { openCgroupDriver } from "../../src/cgroup/driver";
import { RuntimeClient } from "../../src/runtime/client";
import { readState } from "../../src/runtime/state";
import { createNamespaces, deleteNamespaces } from "../../src/ns";
import { isMountPoint } from "../../src/ns/pin";
import { MNT_DETACH } from "../../src/sys/constants";
import { umount2 } from "../../src/sys/libc";
import { loadProfile } from "../../src/seccomp/validate";
import { DOCKER_DEFAULT_CAPABILITIES } from "../../src/sys/constants";
import { profileJson } from "../../providers/impl/v1/profileJson";
import { appletList, buildBusyboxRootfs, findBusybox } from "../../providers/rootfs/busybox";
import { provider, type ContainerInputs, type ContainerOutputs } from "../../providers/impl/v1/container";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { testOwner } from "../helpers/owner";
import { devicePolicyOf } from "../../src/cgroup/devicePolicy";
import { defaultDeviceRules } from "../../src/runtime/deviceRules";
import { BPF_CGROUP_DEVICE, detachProgram, openCgroupDir, programFdById, queryPrograms, withFd } from "../../src/sys/bpf";

const prefix = testPrefix("ctr");
const dir = join(tmpdir(), prefix);
const runDir = join(dir, "run");
const rootfs = join(dir, "rootfs");
// Before the provider makes its client: every container and the supervisor live in this run dir.
process.env.HOSTFORM_RUN_DIR = runDir;
const driver = openCgroupDriver();
/** Every Container's device policy: deny all, then Docker's list (runc's default rules). */
const DEVICE_POLICY = devicePolicyOf(defaultDeviceRules(), "devices");
const made = new Set<ContainerOutputs>();

if (!needsRoot) {
  mkdirSync(dir, { recursive: true });
  const busybox = findBusybox(undefined);
  buildBusyboxRootfs(rootfs, busybox, appletList(busybox, ["sh", "sleep", "cat"]));
}

after(async () => {
  for (const o of made) await provider.delete!(o.containerId, o).catch(() => undefined);
  await new RuntimeClient({ runDir }).shutdownSupervisor().catch(() => undefined);
  // src/ns keeps the run dir's ns directory a private self-bind mount.
  if (isMountPoint(join(runDir, "ns"))) umount2(join(runDir, "ns"), MNT_DETACH);
  rmSync(dir, { recursive: true, force: true });
});

/** A shell that exits at once on SIGTERM, so stops take no timeout. */
const LOOP = ["/bin/sh", "-c", "trap 'exit 0' TERM; while true; do echo tick; sleep 1 & wait; done"];

async function create(name: string, extra: Partial<ContainerInputs> = {}): Promise<{ inputs: ContainerInputs; outs: ContainerOutputs }> {
  const checked = await provider.check!({} as ContainerInputs, { resourceName: name, name: `${prefix}-${name}`, __owner: testOwner(name), rootfs, command: LOOP, stopTimeout: 5, ...extra });
  assert.deepEqual(checked.failures, []);
  const r = await provider.create(checked.inputs!);
  made.add(r.outs!);
  return { inputs: checked.inputs!, outs: r.outs! };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("create runs it in its cgroup with the default filter; read and diff see it in sync", { skip: needsRoot }, async () => {
  const { inputs, outs } = await create("basic", { limits: { memory: { max: "64Mi" }, pids: { max: 32 } }, env: { GREETING: "hi" } });
  assert.equal(outs.status, "running");
  assert.ok(outs.pid > 0);
  assert.equal(outs.inCgroup, true);
  assert.equal(outs.seccompMode, "filter");
  assert.deepEqual(outs.liveLimits, { memory: { max: 64 * 1024 * 1024 }, pids: { max: 32 }, devices: DEVICE_POLICY });
  assert.ok(outs.namespaces.net !== undefined && outs.namespaces.pid !== undefined);
  const read = await provider.read!(outs.containerId, outs);
  assert.equal(read.id, outs.containerId);
  assert.equal(read.props!.pid, outs.pid);
  assert.deepEqual((await provider.diff!(outs.containerId, outs, inputs)).changes, false);
  // A killed `up` runs create again: the same running container is adopted, not started twice.
  const again = await provider.create(inputs);
  assert.equal(again.outs!.pid, outs.pid);
});

test("a limit rewritten in cgroupfs is read back, diffs as an in-place update and is repaired", { skip: needsRoot }, async () => {
  const { inputs, outs } = await create("limit", { limits: { pids: { max: 32 } } });
  const pidsDir = driver.paths(outs.cgroupName).v1.pids ?? driver.paths(outs.cgroupName).v2!;
  writeFileSync(join(pidsDir, "pids.max"), "9");
  const read = await provider.read!(outs.containerId, outs);
  assert.deepEqual(read.props!.liveLimits, { pids: { max: 9 }, devices: DEVICE_POLICY });
  const d = await provider.diff!(outs.containerId, read.props!, inputs);
  assert.equal(d.changes, true);
  assert.equal(d.replaces, undefined);
  const u = await provider.update!(outs.containerId, read.props!, inputs);
  assert.deepEqual(u.outs!.liveLimits, { pids: { max: 32 }, devices: DEVICE_POLICY });
  assert.equal(u.outs!.pid, outs.pid, "an in-place update keeps the process");
  // A declared change is written live too.
  const changed = { ...inputs, limits: { pids: { max: 40 } } };
  const u2 = await provider.update!(outs.containerId, u.outs!, changed);
  assert.deepEqual(u2.outs!.liveLimits, { pids: { max: 40 }, devices: DEVICE_POLICY });
  assert.equal(u2.outs!.pid, outs.pid);
});

test("a device rule loosened out of band is read back, diffs as an in-place update and is repaired", { skip: needsRoot }, async () => {
  const { inputs, outs } = await create("devices");
  const paths = driver.paths(outs.cgroupName);
  if (driver.routes.devices === "v1") {
    writeFileSync(join(paths.v1.devices!, "devices.allow"), "a");
  } else {
    // v2: our filter detached, as `bpftool cgroup detach` would.
    const dir = paths.v2!;
    withFd(openCgroupDir(dir), (cg) => {
      for (const id of queryPrograms(cg, BPF_CGROUP_DEVICE, dir)) withFd(programFdById(id), (p) => detachProgram(cg, p, BPF_CGROUP_DEVICE, dir));
    });
  }
  const read = await provider.read!(outs.containerId, outs);
  assert.deepEqual(read.props!.liveLimits, { devices: { default: "allow", exceptions: [] } });
  const d = await provider.diff!(outs.containerId, read.props!, inputs);
  assert.equal(d.changes, true);
  assert.equal(d.replaces, undefined);
  const u = await provider.update!(outs.containerId, read.props!, inputs);
  assert.deepEqual(u.outs!.liveLimits, { devices: DEVICE_POLICY });
  assert.equal(u.outs!.pid, outs.pid, "an in-place update keeps the process");
  assert.equal((await provider.diff!(outs.containerId, u.outs!, inputs)).changes, false);
});

test("a killed container reads as stopped; update runs it again", { skip: needsRoot }, async () => {
  const { inputs, outs } = await create("killed");
  process.kill(outs.pid, "SIGKILL");
  const read = await until("stopped", async () => {
    const r = await provider.read!(outs.containerId, outs);
    // Until the supervisor has reaped it, the exit code is not known yet.
    return r.props!.status === "stopped" && r.props!.exitCode !== null ? r : undefined;
  });
  assert.equal(read.props!.pid, 0);
  assert.equal(read.props!.exitCode, 137);
  assert.deepEqual(await provider.diff!(outs.containerId, read.props!, inputs), { changes: true });
  const u = await provider.update!(outs.containerId, read.props!, inputs);
  assert.equal(u.outs!.status, "running");
  assert.notEqual(u.outs!.pid, outs.pid);
  assert.equal((await provider.diff!(outs.containerId, u.outs!, inputs)).changes, false);
});

test("a deleted cgroup is reported and made again by update", { skip: needsRoot }, async () => {
  const { inputs, outs } = await create("cgone", { limits: { memory: { max: "48Mi" } } });
  // A populated cgroup cannot be removed: stop the process first, as an operator would have to.
  process.kill(outs.pid, "SIGKILL");
  await until("stopped", async () => ((await provider.read!(outs.containerId, outs)).props!.status === "stopped" ? true : undefined));
  await driver.delete(outs.cgroupName);
  const read = await provider.read!(outs.containerId, outs);
  assert.equal(read.props!.liveLimits, null);
  assert.equal(read.props!.inCgroup, false);
  const u = await provider.update!(outs.containerId, read.props!, inputs);
  assert.equal(u.outs!.status, "running");
  assert.equal(u.outs!.inCgroup, true);
  assert.deepEqual(u.outs!.liveLimits, { memory: { max: 48 * 1024 * 1024 }, devices: DEVICE_POLICY });
});

test("restart policy and stop settings change in place; the restarted container follows the new policy", { skip: needsRoot }, async () => {
  const { inputs, outs } = await create("policy");
  const news = { ...inputs, restartPolicy: "always", stopTimeout: 2 };
  const d = await provider.diff!(outs.containerId, outs, news);
  assert.equal(d.changes, true);
  assert.equal(d.replaces, undefined);
  const supervisor = await new RuntimeClient({ runDir }).supervisorPid();
  const u = await provider.update!(outs.containerId, outs, news);
  assert.equal(u.outs!.pid, outs.pid);
  // Changed by the supervisor's update request: the supervisor is the same one (no restart, no adoption).
  assert.equal(await new RuntimeClient({ runDir }).supervisorPid(), supervisor);
  const state = readState(outs.containerId)!;
  assert.equal(state.restartPolicy, "always");
  assert.equal(state.stopTimeout, 2);
  process.kill(outs.pid, "SIGKILL");
  const back = await until("restarted", async () => {
    const r = await provider.read!(outs.containerId, u.outs!);
    return r.props!.status === "running" && r.props!.pid !== outs.pid ? r.props! : undefined;
  });
  assert.ok(back.restartCount >= 1);
  // Volatile outputs (pid, startedAt, restartCount) never make a diff.
  assert.equal((await provider.diff!(outs.containerId, u.outs!, news)).changes, false);
});

test("unconfined runs without a filter; delete is idempotent and read then reports it gone", { skip: needsRoot }, async () => {
  const { outs } = await create("gone", { seccomp: "unconfined" });
  assert.equal(outs.seccompMode, "disabled");
  await provider.delete!(outs.containerId, outs);
  assert.equal(driver.exists(outs.cgroupName), false);
  assert.equal((await provider.read!(outs.containerId, outs)).id, "");
  await provider.delete!(outs.containerId, outs);
  made.delete(outs);
});

test("a container joins a pinned namespace set and runs a SeccompProfile's compiled filter", { skip: needsRoot }, async () => {
  const setName = `${prefix}-ns`;
  const set = await createNamespaces(setName, ["net", "uts", "ipc"]);
  try {
    const { inputs, outs } = await create("joined", {
      namespaceName: setName,
      namespacePaths: set.paths,
      namespaceInodes: set.inodes,
      seccomp: "profile",
      seccompProfileJson: profileJson(loadProfile("docker-default")),
      seccompCapabilities: [...DOCKER_DEFAULT_CAPABILITIES],
      seccompDigest: "test-digest",
    });
    assert.equal(outs.namespaces.net, set.inodes.net);
    assert.equal(outs.namespaces.uts, set.inodes.uts);
    assert.notEqual(outs.namespaces.pid, undefined);
    assert.equal(outs.seccompMode, "filter");
    assert.equal((await provider.diff!(outs.containerId, outs, inputs)).changes, false);
    // The set made again (new inodes) replaces the container, deleting it first.
    const d = await provider.diff!(outs.containerId, outs, { ...inputs, namespaceInodes: { ...set.inodes, net: 1 } });
    assert.deepEqual(d.replaces, ["namespaceInodes"]);
    assert.equal(d.deleteBeforeReplace, true);
    await provider.delete!(outs.containerId, outs);
    made.delete(outs);
  } finally {
    await deleteNamespaces(setName);
  }
});

test("pod: a Namespace pinned after the supervisor started is joined at once (the launcher opens the pin on the host side)", { skip: needsRoot }, async () => {
  const c = new RuntimeClient({ runDir });
  // The supervisor, its launcher and the spawn worker's mount namespace all exist before the pin does.
  const first = await create("podfirst", { seccomp: "unconfined" });
  const supervisor = await c.supervisorPid();
  const setName = `${prefix}-pod`;
  const set = await createNamespaces(setName, ["net", "uts", "ipc"]);
  try {
    const { outs } = await create("podmate", { namespaceName: setName, namespacePaths: set.paths, namespaceInodes: set.inodes, seccomp: "unconfined" });
    assert.equal(outs.status, "running");
    assert.deepEqual({ net: outs.namespaces.net, uts: outs.namespaces.uts, ipc: outs.namespaces.ipc }, { net: set.inodes.net, uts: set.inodes.uts, ipc: set.inodes.ipc });
    assert.equal(await c.supervisorPid(), supervisor, "joined without a new supervisor");
    assert.equal((await provider.read!(first.outs.containerId, first.outs)).props!.pid, first.outs.pid, "the earlier container ran on untouched");
    await provider.delete!(outs.containerId, outs);
    made.delete(outs);
  } finally {
    await deleteNamespaces(setName);
  }
});

test("a directory root is copy-on-write by default: two containers' writes stay theirs and the directory is unchanged; copyOnWrite false writes through", { skip: needsRoot }, async () => {
  const write = (file: string): string[] => ["/bin/sh", "-c", `echo $HOSTNAME > /${file}; trap 'exit 0' TERM; while true; do sleep 1 & wait; done`];
  const a = await create("cow-a", { command: write("cow-file"), hostname: "a" });
  const b = await create("cow-b", { command: write("cow-file"), hostname: "b" });
  const upper = (o: ContainerOutputs): string => join(runDir, "containers", o.containerId, "upper", "cow-file");
  await until("both wrote", async () => (existsSync(upper(a.outs)) && existsSync(upper(b.outs)) ? true : undefined));
  assert.equal(readFileSync(upper(a.outs), "utf8"), "a\n");
  assert.equal(readFileSync(upper(b.outs), "utf8"), "b\n");
  assert.equal(existsSync(join(rootfs, "cow-file")), false, "the shared directory is unchanged");
  assert.deepEqual(readState(a.outs.containerId)?.rootLayers, [rootfs]);
  // Replaced when it changes: a process cannot move to another root.
  const d = await provider.diff!(a.outs.containerId, a.outs, { ...a.inputs, copyOnWrite: false });
  assert.ok(d.replaces?.includes("copyOnWrite"), JSON.stringify(d));
  for (const o of [a.outs, b.outs]) {
    await provider.delete!(o.containerId, o);
    made.delete(o);
  }
  assert.equal(existsSync(join(runDir, "containers", a.outs.containerId)), false, "delete removes the upper dir with the container");

  const through = await create("cow-off", { command: write("through-file"), hostname: "t", copyOnWrite: false });
  await until("it wrote", async () => (existsSync(join(rootfs, "through-file")) ? true : undefined));
  assert.equal(readState(through.outs.containerId)?.rootLayers, undefined);
  await provider.delete!(through.outs.containerId, through.outs);
  made.delete(through.outs);
  rmSync(join(rootfs, "through-file"));
});

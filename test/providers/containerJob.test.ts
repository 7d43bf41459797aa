// Jobs (issue 17, item 2): a Container with desiredState "exited" is waited for, fails the create
// unless it exits 0 (naming the exit and the end of its log, leaving nothing), and once it exited 0
// stays in sync: diff after diff finds nothing to do, and read does not call it stopped.
import assert from "node:assert/strict";
import { mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { openCgroupDriver } from "../../src/cgroup/driver";
import { RuntimeClient } from "../../src/runtime/client";
import { appletList, buildBusyboxRootfs, findBusybox } from "../../providers/rootfs/busybox";
import { provider, type ContainerInputs, type ContainerOutputs } from "../../providers/impl/v1/container";
import { LIVE_STATUS_KEY } from "../../providers/liveStatus";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { testOwner } from "../helpers/owner";

const prefix = testPrefix("ctrjob");
const dir = join(tmpdir(), prefix);
const runDir = join(dir, "run");
const rootfs = join(dir, "rootfs");
process.env.HOSTFORM_RUN_DIR = runDir;
const made = new Set<ContainerOutputs>();

if (!needsRoot) {
  mkdirSync(dir, { recursive: true });
  const busybox = findBusybox(undefined);
  buildBusyboxRootfs(rootfs, busybox, appletList(busybox, ["sh", "sleep", "echo"]));
}

after(async () => {
  if (needsRoot) return;
  for (const o of made) await provider.delete!(o.containerId, o).catch(() => undefined);
  await new RuntimeClient({ runDir }).shutdownSupervisor().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

async function checked(name: string, extra: Partial<ContainerInputs>): Promise<{ inputs?: ContainerInputs; failures: Array<{ property: string }> }> {
  const r = await provider.check!({} as ContainerInputs, { resourceName: name, name: `${prefix}-${name}`, __owner: testOwner(name), rootfs, seccomp: "unconfined", stopTimeout: 2, desiredState: "exited", ...extra });
  return { inputs: r.inputs, failures: (r.failures ?? []) as Array<{ property: string }> };
}

test("a job that exits 0: the create waits for it, and five diffs and reads later it is still in sync", { skip: needsRoot }, async () => {
  const { inputs, failures } = await checked("ok", { command: ["/bin/sh", "-c", "sleep 1; echo done"] });
  assert.deepEqual(failures, []);
  const t0 = Date.now();
  const { outs } = await provider.create(inputs!);
  made.add(outs!);
  assert.ok(Date.now() - t0 >= 900, "the create waited for the job's second");
  assert.equal(outs!.status, "stopped");
  assert.equal(outs!.exitCode, 0);
  for (let i = 0; i < 5; i++) {
    const read = await provider.read!(outs!.containerId, outs!);
    assert.equal((read.props as unknown as Record<string, unknown>)[LIVE_STATUS_KEY], undefined, "a finished job is not drift");
    assert.equal((await provider.diff!(outs!.containerId, read.props!, inputs!)).changes, false, `diff ${i + 1}`);
  }
  // A service of the same declaration, stopped, would be run again.
  assert.equal((await provider.diff!(outs!.containerId, outs!, { ...inputs!, desiredState: "running" })).changes, true);
});

test("a job that fails: the create fails with its exit and the end of its log, and leaves nothing", { skip: needsRoot }, async () => {
  const { inputs } = await checked("fails", { command: ["/bin/sh", "-c", "echo about to fail; exit 3"] });
  await assert.rejects(provider.create(inputs!), (e: unknown) => e instanceof Error && /exit code 3/.test(e.message) && /about to fail/.test(e.message));
  await assert.rejects(new RuntimeClient({ runDir }).state(inputs!.name!), /does not exist|no container|not found/i);
  assert.equal(openCgroupDriver().exists(inputs!.name!), false, "its cgroup is gone");
});

test("a job may not restart always; desiredState is running or exited", { skip: needsRoot }, async () => {
  assert.deepEqual((await checked("always", { command: ["/bin/sh", "-c", "exit 0"], restartPolicy: "always" })).failures.map((f) => f.property), ["restartPolicy"]);
  assert.deepEqual((await checked("bad", { command: ["/bin/sh", "-c", "exit 0"], desiredState: "done" as never })).failures.map((f) => f.property), ["desiredState"]);
});

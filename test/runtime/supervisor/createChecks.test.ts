// Create and update requests checked before anything is made or changed: defaults, and each bad
// field refused by name.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { openCgroupDriver } from "../../../src/cgroup/driver";
import { defaultSpec } from "../../../src/runtime/specgen/defaults";
import { checkCreate, checkUpdate } from "../../../src/runtime/supervisor/createChecks";
import { ValidationError } from "../../../src/sys/errors";
import { needsRoot, testPrefix } from "../../../fixtures/prefix";
import { makeBusyboxBundle } from "../../../fixtures/busyboxRootfs";

const prefix = testPrefix("checks");
const { bundle, rootfs } = makeBusyboxBundle(prefix);
after(() => rmSync(bundle, { recursive: true, force: true }));

const refusedOn = (field: string) => (e: unknown) => e instanceof ValidationError && e.field === field;

test("update: every field is checked, absent ones stay absent", () => {
  assert.deepEqual(checkUpdate({}), {});
  assert.deepEqual(checkUpdate({ restartPolicy: "on-failure:3", stopSignal: "kill", stopTimeout: 0 }), { restartPolicy: { kind: "on-failure", max: 3 }, stopSignal: "SIGKILL", stopTimeout: 0 });
  assert.throws(() => checkUpdate({ restartPolicy: "sometimes" }), refusedOn("restartPolicy"));
  assert.throws(() => checkUpdate({ stopSignal: "BOGUS" }), refusedOn("stopSignal"));
  assert.throws(() => checkUpdate({ stopTimeout: -1 }), refusedOn("stopTimeout"));
  assert.throws(() => checkUpdate({ stopTimeout: "5" as unknown as number }), refusedOn("stopTimeout"));
});

test("create: defaults filled in, the image's stop signal used, client stdio as /proc paths", { skip: needsRoot }, () => {
  const cgroups = openCgroupDriver();
  const id = `${prefix}-c`;
  const spec = { ...defaultSpec({ rootfs, args: ["sleep", "1"] }), annotations: { "org.opencontainers.image.stopSignal": "SIGQUIT" } };
  const plan = checkCreate(id, spec, { bundle, stdio: { kind: "client", pid: 4242 } }, cgroups);
  assert.deepEqual(
    { policy: plan.restartPolicy, sig: plan.stopSignal, t: plan.stopTimeout, files: plan.logFiles, cgroup: plan.cgroup, owns: plan.ownsCgroup, stdio: plan.stdio, bpf: plan.seccompBpf },
    { policy: { kind: "no" }, sig: "SIGQUIT", t: 10, files: 3, cgroup: id, owns: true, stdio: ["/proc/4242/fd/0", "/proc/4242/fd/1", "/proc/4242/fd/2"], bpf: undefined },
  );
  assert.equal(plan.spec.root.path, rootfs);
  assert.equal(checkCreate(id, spec, { seccompBpf: Buffer.from([1, 2]).toString("base64") }, cgroups).seccompBpf?.length, 2);
  const bad: Array<[object, string]> = [
    [{ stdio: { kind: "client", pid: 0 } }, "stdio.pid"],
    [{ stopTimeout: Number.NaN }, "stopTimeout"],
    [{ logMaxBytes: 0 }, "logMaxBytes"],
    [{ logFiles: 1.5 }, "logFiles"],
    [{ restartPolicy: "maybe" }, "restartPolicy"],
    [{ cgroup: `${prefix}-none` }, "cgroup"],
  ];
  for (const [o, field] of bad) assert.throws(() => checkCreate(id, spec, o, cgroups), refusedOn(field), field);
  assert.equal(cgroups.exists(id), false, "checks make nothing");
});

// Container check and diff decisions that need no running container: validation names the
// property before anything is made, and declared changes are classified as replace or in place.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { appletList, buildBusyboxRootfs, findBusybox } from "../../providers/rootfs/busybox";
import { provider, type ContainerInputs, type ContainerOutputs } from "../../providers/impl/v1/container";
import { effectiveCapabilities } from "../../src/runtime/specgen/capabilities";
import { UNKNOWN } from "../../providers/impl/v1/unknownValue";
import { testPrefix } from "../../fixtures/prefix";

const dir = mkdtempSync(join(tmpdir(), `${testPrefix("ctr-unit")}-`));
const rootfs = join(dir, "rootfs");
const busybox = findBusybox(undefined);
buildBusyboxRootfs(rootfs, busybox, appletList(busybox, ["sh", "sleep"]));
after(() => rmSync(dir, { recursive: true, force: true }));

function base(extra: Partial<ContainerInputs> = {}): ContainerInputs {
  return { resourceName: "web", rootfs, command: ["/bin/sh", "-c", "sleep 1"], ...extra };
}

async function failures(extra: Partial<ContainerInputs>): Promise<Array<{ property: string; reason: string }>> {
  const r = await provider.check!({} as ContainerInputs, base(extra));
  return (r.failures ?? []) as Array<{ property: string; reason: string }>;
}

test("a valid declaration passes check and gets an autoname kept across checks", async () => {
  const r = await provider.check!({} as ContainerInputs, base());
  assert.deepEqual(r.failures, []);
  assert.match(r.inputs!.name!, /^web-[0-9a-f]{8}$/);
  const again = await provider.check!(r.inputs!, base());
  assert.equal(again.inputs!.name, r.inputs!.name);
});

test("check names the property of each problem", async () => {
  const cases: Array<[Partial<ContainerInputs>, string]> = [
    [{ rootfs: join(dir, "nope") }, "rootfs"],
    [{ command: ["/bin/nginx"] }, "command"],
    [{ command: [] }, "command"],
    [{ capabilities: { add: ["CAP_FLY"] } }, "capabilities.add[0]"],
    [{ restartPolicy: "sometimes" }, "restartPolicy"],
    [{ stopSignal: "SIGNOPE" }, "stopSignal"],
    [{ stopTimeout: -1 }, "stopTimeout"],
    [{ limits: { memory: { max: "12 potatoes" } } }, "limits.memory.max"],
    [{ mounts: [{ destination: "/data", source: join(dir, "missing") }] }, "mounts[0].source"],
    [{ mounts: [{ destination: "data", type: "tmpfs" }] }, "mounts[0].destination"],
    [{ rlimits: { wings: 2 } }, "rlimits.wings"],
    [{ rlimits: { nofile: { soft: 10, hard: 5 } } }, "rlimits.nofile"],
    [{ user: "alice" }, "user"],
    [{ name: "bad/name" }, "name"],
    [{ hostname: "h", namespaceName: "pod", namespacePaths: { uts: "/run/hostform/ns/pod/uts" } }, "hostname"],
    [{ seccomp: "profile" }, "seccompProfile"],
  ];
  for (const [extra, property] of cases) {
    const f = await failures(extra);
    assert.ok(f.some((x) => x.property === property), `${JSON.stringify(extra)} -> ${JSON.stringify(f)}`);
  }
});

test("secret env values never appear in check failures", async () => {
  for (const extra of <Partial<ContainerInputs>[]>[{ env: { "BAD NAME": "hunter2-secret" } }, { env: { TOKEN: "hunter2-secret" }, command: ["nope-prog"] }, { env: { TOKEN: "hunter2-secret" }, user: "ghost" }]) {
    const f = await failures(extra);
    assert.ok(f.length >= 1, JSON.stringify(f));
    assert.ok(f.every((x) => !x.reason.includes("hunter2")), JSON.stringify(f));
  }
});

test("unknown inputs (preview) are not validated against the host", async () => {
  const r = await provider.check!({} as ContainerInputs, base({ rootfs: UNKNOWN, namespaceInodes: UNKNOWN as never }));
  assert.deepEqual(r.failures, []);
});

test("capabilities: Docker's defaults, drop ALL, add back", () => {
  assert.equal(effectiveCapabilities(undefined).length, 14);
  assert.deepEqual(effectiveCapabilities({ drop: ["ALL"] }), []);
  assert.deepEqual(effectiveCapabilities({ drop: ["all"], add: ["net_bind_service"] }), ["CAP_NET_BIND_SERVICE"]);
  assert.ok(!effectiveCapabilities({ drop: ["CHOWN"] }).includes("CAP_CHOWN"));
});

function outs(inputs: ContainerInputs): ContainerOutputs {
  return { ...inputs, name: "web-1", containerId: "web-1", cgroupName: "web-1", pid: 10, pidStartTime: 1, status: "running", startedAt: "", restartCount: 0, exitCode: null, logPath: "", inCgroup: true, liveLimits: {}, missingHierarchies: [], seccompMode: "filter", namespaces: {}, networkInterfaces: {}, publishedPorts: [], idMappings: null };
}

test("diff: what a process cannot change replaces it, deleting first when the id is kept", async () => {
  const old = outs(base({ name: "web-1" }));
  for (const [k, v] of [["command", ["/bin/true"]], ["env", { A: "1" }], ["user", 1000], ["rootfs", "/other"], ["seccompDigest", "abc"], ["readonlyRootfs", true], ["capabilities", { drop: ["ALL"] }]] as const) {
    const d = await provider.diff!("web-1", old, { ...base({ name: "web-1" }), [k]: v });
    assert.deepEqual(d.replaces, [k], k);
    assert.equal(d.deleteBeforeReplace, true, k);
  }
  const renamed = await provider.diff!("web-1", old, base({ name: "web-2" }));
  assert.deepEqual(renamed.replaces, ["name"]);
  assert.equal(renamed.deleteBeforeReplace, false);
});

test("diff: a changed or not-yet-known namespace replaces, deleting first", async () => {
  const old = outs(base({ name: "web-1", namespaceName: "pod", namespacePaths: { net: "/p/net" }, namespaceInodes: { net: 1 } }));
  const d = await provider.diff!("web-1", old, base({ name: "web-1", namespaceName: "pod", namespacePaths: { net: "/p/net" }, namespaceInodes: UNKNOWN as never }));
  assert.deepEqual(d.replaces, ["namespaceInodes"]);
  assert.equal(d.deleteBeforeReplace, true);
});

test("diff: a Namespace made again with the same inodes is a new set: replaced, deleting first", async () => {
  const ns = { namespaceName: "pod", namespacePaths: { net: "/p/net" }, namespaceInodes: { net: 4026532001 } };
  const old = outs(base({ name: "web-1", ...ns, namespaceIdentity: "2026-11-29T01:00:00.000Z" }));
  const d = await provider.diff!("web-1", old, base({ name: "web-1", ...ns, namespaceIdentity: "2026-11-29T02:00:00.000Z" }));
  assert.deepEqual(d.replaces, ["namespaceIdentity"]);
  assert.equal(d.deleteBeforeReplace, true);
  // State written before identities were recorded: the inodes alone decide, nothing is replaced. (The
  // restart policy changes too, so diff answers from the declaration without asking the host.)
  const legacy = outs(base({ name: "web-1", ...ns }));
  const d2 = await provider.diff!("web-1", legacy, base({ name: "web-1", ...ns, namespaceIdentity: "2026-11-29T02:00:00.000Z", restartPolicy: "always" }));
  assert.deepEqual(d2, { changes: true });
});

test("diff: limits and policies are in-place updates", async () => {
  const old = outs(base({ name: "web-1", limits: { memory: { max: "64Mi" } } }));
  for (const news of [base({ name: "web-1", limits: { memory: { max: "32Mi" } } }), base({ name: "web-1", limits: { memory: { max: "64Mi" } }, restartPolicy: "always" }), base({ name: "web-1", limits: { memory: { max: "64Mi" } }, stopTimeout: 3 })]) {
    const d = await provider.diff!("web-1", old, news);
    assert.equal(d.changes, true);
    assert.equal(d.replaces, undefined);
  }
});

test("diff: networks not known yet (their Network is being replaced) replace the container; a change of aliases alone does not", async () => {
  const attached = { network: "n", confList: '{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"bridge"}]}' };
  const old = outs(base({ name: "web-1", networkAttachments: [{ ...attached, aliases: ["a"] }] }));
  for (const unknown of [UNKNOWN, [UNKNOWN], [{ network: UNKNOWN, confList: UNKNOWN }]]) {
    const d = await provider.diff!("web-1", old, { ...base({ name: "web-1" }), networkAttachments: unknown as never });
    assert.deepEqual(d.replaces, ["networks"], JSON.stringify(unknown));
  }
  const renamed = await provider.diff!("web-1", old, base({ name: "web-1", networkAttachments: [{ ...attached, aliases: ["b"] }] }));
  assert.equal(renamed.changes, true);
  assert.equal(renamed.replaces, undefined);
});

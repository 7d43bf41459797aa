// check/diff decisions that need no kernel object: naming, validation failures naming the
// property, replace vs update, delete-before-replace, lifted limits, and the serialized provider.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { chooseName, mustDeleteBeforeReplace } from "../../providers/impl/v1/autoname";
import { withLiftedLimits } from "../../src/cgroup/spec";
import { provider as cgroupProvider, projectLive } from "../../providers/impl/v1/cgroup";
import { provider as nsProvider } from "../../providers/impl/v1/namespace";
import { provider as seccompProvider } from "../../providers/impl/v1/seccompProfile";
import { provider as rootfsProvider } from "../../providers/impl/v1/busyboxRootfs";
import { profileJson } from "../../providers/impl/v1/profileJson";
import { sameValue } from "../../providers/impl/v1/sameValue";
import { UNKNOWN } from "../../providers/impl/v1/unknownValue";
import { implementationPath, stableProvider } from "../../providers/stableProvider";
import { parseProfile } from "../../src/seccomp/validate";

describe("autonaming", () => {
  test("generates <resource>-<8 hex>, keeps it across updates, keeps a pinned name", () => {
    const a = chooseName(undefined, { resourceName: "web" });
    assert.match(a.name!, /^web-[0-9a-f]{8}$/);
    assert.equal(a.autonamed, true);
    assert.equal(chooseName(a, { resourceName: "web" }).name, a.name);
    assert.notEqual(chooseName(a, { resourceName: "api" }).name, a.name);
    assert.deepEqual(chooseName(a, { resourceName: "web", name: "fixed" }), { resourceName: "web", name: "fixed", autonamed: false });
    assert.match(chooseName(undefined, { resourceName: "my pod/1" }).name!, /^my-pod-1-[0-9a-f]{8}$/);
    assert.equal(mustDeleteBeforeReplace("x", "x"), true);
    assert.equal(mustDeleteBeforeReplace("x", "y"), false);
  });
});

describe("Cgroup check/diff", () => {
  test("check names the failing property and validates every field", async () => {
    const r = await cgroupProvider.check!({} as never, { resourceName: "c", name: "bad/", memory: { max: "12 parsecs" } });
    assert.deepEqual(r.failures!.map((f) => f.property), ["name", "memory.max"]);
    assert.match(r.failures![1]!.reason, /parsecs/);
    const p = await cgroupProvider.check!({} as never, { resourceName: "c", pids: { max: -7 } });
    assert.equal(p.failures![0]!.property, "pids.max");
    const bad = await cgroupProvider.check!({} as never, { resourceName: "c", name: "../escape" });
    assert.equal(bad.failures![0]!.property, "name");
    const conflict = await cgroupProvider.check!({} as never, { resourceName: "c", cpu: { weight: 100, shares: 1024 } });
    assert.equal(conflict.failures![0]!.property, "cpu.shares");
  });

  test("an unknown parent (preview) is not validated yet", async () => {
    const r = await cgroupProvider.check!({} as never, { resourceName: "c", parentName: UNKNOWN, memory: { max: "64Mi" } });
    assert.deepEqual(r.failures, []);
  });

  test("a new name or parent replaces; the same full name deletes first", async () => {
    const olds = { resourceName: "c", name: "a", autonamed: false, fullName: "a" } as never;
    let d = await cgroupProvider.diff!("a", olds, { resourceName: "c", name: "b", autonamed: false });
    assert.deepEqual(d, { changes: true, replaces: ["name"], deleteBeforeReplace: false });
    d = await cgroupProvider.diff!("a", olds, { resourceName: "c", name: "a", autonamed: false, parentName: "p" });
    assert.deepEqual(d, { changes: true, replaces: ["parentName"], deleteBeforeReplace: false });
    const nested = { resourceName: "c", name: "a", autonamed: false, parentName: "p", fullName: "p/a" } as never;
    d = await cgroupProvider.diff!("p/a", nested, { resourceName: "c", name: "a", autonamed: false, parentName: UNKNOWN });
    assert.equal(d.deleteBeforeReplace, false);
  });

  test("a changed limit is an update, not a replace", async () => {
    const olds = { resourceName: "c", name: "a", autonamed: true, fullName: "a", memory: { max: "64Mi" } } as never;
    const d = await cgroupProvider.diff!("a", olds, { resourceName: "c", name: "a", autonamed: true, memory: { max: "128Mi" } });
    assert.deepEqual(d, { changes: true });
  });

  test("removed limits are lifted; weight and shares never both", () => {
    assert.deepEqual(withLiftedLimits({ memory: { max: "1G", low: "1M" }, pids: { max: 10 } }, { memory: { high: "512M" } }), {
      memory: { high: "512M", max: "max", low: 0 },
      pids: { max: "max" },
    });
    assert.deepEqual(withLiftedLimits({ cpu: { cores: 0.5, shares: 512 } }, { cpu: { weight: 50 } }), { cpu: { weight: 50, quota: "max" } });
    assert.deepEqual(withLiftedLimits({}, {}), {});
  });

  test("the live limits output holds exactly the declared fields", () => {
    assert.deepEqual(projectLive({ memory: { max: 4096 } }, { memory: { max: 8192, high: "max" }, pids: { max: 3 } }), { memory: { max: 8192 } });
    assert.deepEqual(projectLive({ pids: { max: 5 } }, {}), { pids: { max: null } });
  });
});

describe("Namespace check/diff", () => {
  test("check canonicalizes types and names the bad element", async () => {
    const ok = await nsProvider.check!({} as never, { resourceName: "n", types: ["pid", "net"] });
    assert.deepEqual(ok.failures, []);
    assert.deepEqual(ok.inputs!.types, ["net", "pid"]);
    const bad = await nsProvider.check!({} as never, { resourceName: "n", types: ["net", "time"] as never });
    assert.equal(bad.failures![0]!.property, "types[1]");
    // A user namespace (issue 16): its mappings are "auto" unless given; userns without one is refused.
    const user = await nsProvider.check!({} as never, { resourceName: "n", types: ["user", "net"] });
    assert.deepEqual({ failures: user.failures, types: user.inputs!.types, userns: user.inputs!.userns }, { failures: [], types: ["net", "user"], userns: "auto" });
    const stray = await nsProvider.check!({} as never, { resourceName: "n", types: ["net"], userns: "auto" } as never);
    assert.equal(stray.failures![0]!.property, "userns");
    const dup = await nsProvider.check!({} as never, { resourceName: "n", types: ["net", "net"], name: "bad/name" });
    assert.deepEqual(dup.failures!.map((f) => f.property).sort(), ["name", "types[1]"]);
  });

  test("changed types replace, deleting first when the name stays", async () => {
    const olds = { resourceName: "n", name: "s", autonamed: false, types: ["net"] } as never;
    const d = await nsProvider.diff!("s", olds, { resourceName: "n", name: "s", autonamed: false, types: ["net", "uts"] });
    assert.deepEqual(d, { changes: true, replaces: ["types"], deleteBeforeReplace: true });
  });
});

describe("SeccompProfile check/diff", () => {
  test("check names profile fields, arch and caps", async () => {
    let r = await seccompProvider.check!({} as never, { profile: { defaultAction: "SCMP_ACT_NOPE" } });
    assert.equal(r.failures![0]!.property, "profile.defaultAction");
    r = await seccompProvider.check!({} as never, { profile: "docker-default", arch: "sparc" as never, caps: ["CAP_FLYING"] });
    assert.deepEqual(r.failures!.map((f) => f.property), ["arch", "caps[0]"]);
    r = await seccompProvider.check!({} as never, { profile: "/nonexistent/hostform-profile.json" });
    assert.equal(r.failures![0]!.property, "profile");
  });

  test("profileJson round-trips, 64-bit datums exact", () => {
    const text = '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["personality"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":18446744073709551615,"op":"SCMP_CMP_EQ"}]}]}';
    const p = parseProfile(text);
    const again = parseProfile(profileJson(p));
    assert.deepEqual(again, p);
    assert.match(profileJson(p), /18446744073709551615/);
  });

  test("an unchanged declaration still diffs when it compiles differently", async () => {
    const inputs = { profile: { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mount"], action: "SCMP_ACT_ERRNO" }] } };
    const created = await seccompProvider.create(inputs);
    assert.match(created.id, /^[0-9a-f]{64}$/);
    assert.deepEqual(await seccompProvider.diff!(created.id, created.outs!, inputs), { changes: false });
    assert.deepEqual(await seccompProvider.diff!(created.id, { ...created.outs!, digest: "0".repeat(64) }, inputs), { changes: true });
  });
});

describe("BusyboxRootfs check", () => {
  test("a dynamic binary and an unknown applet are refused by name", async () => {
    const r = await rootfsProvider.check!({} as never, { resourceName: "r", busybox: "/bin/ls" });
    assert.equal(r.failures![0]!.property, "busybox");
    assert.match(r.failures![0]!.reason, /dynamically linked/);
    const a = await rootfsProvider.check!({} as never, { resourceName: "r", applets: ["sh", "no-such-applet"] });
    assert.equal(a.failures![0]!.property, "applets[1]");
  });
});

describe("stable provider", () => {
  test("serializes to a closure that only requires the versioned module by absolute path", async () => {
    const p = stableProvider("cgroup");
    const s = await pulumi.runtime.serializeFunction(() => p);
    const where = implementationPath("cgroup");
    assert.ok(s.text.includes(JSON.stringify(where.absolute)), s.text);
    assert.match(where.absolute, /providers\/impl\/v1\/cgroup\.js$/);
    assert.match(where.packageRelative, /^hostform\/.*providers\/impl\/v1\/cgroup\.js$/);
    assert.ok(s.text.length < 4000, `serialized provider is ${s.text.length} bytes`);
    assert.ok(!s.text.includes("openCgroupDriver"), "no implementation is embedded");
  });

  test("sameValue treats absent and null alike", () => {
    assert.ok(sameValue({ a: 1, b: undefined }, { a: 1, b: null }));
    assert.ok(!sameValue({ a: [1, 2] }, { a: [2, 1] }));
  });
});

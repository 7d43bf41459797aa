// Device rules resolved into a policy the way the v1 devices controller applies them, the v1
// transition writes, and the v2 filter program's shape. No kernel object: the kernel side is in
// devices.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { devicePolicyOf, policyFromList } from "../../src/cgroup/devicePolicy";
import { devicesTransition } from "../../src/cgroup/v1/devices";
import { deviceProgram } from "../../src/cgroup/v2/deviceProgram";
import { withLiftedLimits } from "../../src/cgroup/spec";
import { defaultDeviceRules, ociDeviceRules } from "../../src/runtime/deviceRules";
import { ValidationError } from "../../src/sys/errors";
import type { ContainerSpec } from "../../src/runtime/spec";

const field = (f: string) => (e: unknown) => e instanceof ValidationError && e.field === f;

test("rules start from deny all; later rules add to or take from the exception of exactly their numbers", () => {
  assert.deepEqual(devicePolicyOf([], "d"), { default: "deny", exceptions: [] });
  assert.deepEqual(
    devicePolicyOf([{ allow: true, type: "c", major: 1, minor: 3, access: "r" }, { allow: true, type: "c", major: 1, minor: 3, access: "w" }, { allow: true, type: "b", access: "m" }], "d"),
    { default: "deny", exceptions: ["b *:* m", "c 1:3 rw"] },
  );
  // An "a" rule resets: what came before it no longer counts.
  assert.deepEqual(devicePolicyOf([{ allow: true, type: "c", major: 1, minor: 3 }, { allow: false }], "d"), { default: "deny", exceptions: [] });
  assert.deepEqual(devicePolicyOf([{ allow: true }, { allow: false, type: "b", major: 8, minor: 0 }], "d"), { default: "allow", exceptions: ["b 8:0 rwm"] });
  // A deny of part of an exception takes just that access away.
  assert.deepEqual(devicePolicyOf([{ allow: true, type: "c", major: 1, minor: 3 }, { allow: false, type: "c", major: 1, minor: 3, access: "w" }], "d"), { default: "deny", exceptions: ["c 1:3 rm"] });
});

test("Docker's default list: deny all, mknod of any node, the standard nodes, ptys and tun", () => {
  assert.deepEqual(devicePolicyOf(defaultDeviceRules(), "devices"), {
    default: "deny",
    exceptions: ["b *:* m", "c *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm", "c 5:2 rwm", "c 10:200 rwm", "c 136:* rwm"],
  });
});

test("bad rules are named by field with the fix; a hole in a wildcard rule is refused, not ignored", () => {
  assert.throws(() => devicePolicyOf([{ allow: true, type: "c", access: "rwx" }], "limits.devices"), (e: unknown) => field("limits.devices[0].access")(e) && /"x" is not an access letter/.test((e as Error).message) && /r \(read\), w \(write\) and m \(mknod\)/.test((e as Error).message));
  assert.throws(() => devicePolicyOf([{ allow: true, type: "x" }], "limits.devices"), (e: unknown) => field("limits.devices[0].type")(e) && /"c" \(character\), "b" \(block\) or "a"/.test((e as Error).message));
  assert.throws(() => devicePolicyOf([{ type: "c" }], "limits.devices"), field("limits.devices[0].allow"));
  assert.throws(() => devicePolicyOf([{ allow: true, type: "c", major: 5000 }], "limits.devices"), field("limits.devices[0].major"));
  assert.throws(() => devicePolicyOf([{ allow: true, type: "a", major: 1 }], "limits.devices"), field("limits.devices[0]"));
  assert.throws(() => devicePolicyOf([{ allow: true, type: "c", bogus: 1 }], "limits.devices"), field("limits.devices[0].bogus"));
  assert.throws(() => devicePolicyOf({ allow: true }, "limits.devices"), field("limits.devices"));
  assert.throws(
    () => devicePolicyOf([{ allow: true, type: "c", major: 136 }, { allow: false, type: "c", major: 136, minor: 0 }], "limits.devices"),
    (e: unknown) => field("limits.devices[1]")(e) && /c 136:\* rwm covers it/.test((e as Error).message),
  );
});

test("devices.list reads back into the same policy; the v1 transition writes only the difference", () => {
  const want = devicePolicyOf(defaultDeviceRules(), "d");
  assert.deepEqual(policyFromList("a *:* rwm\n", "list"), { default: "allow", exceptions: [] });
  assert.deepEqual(policyFromList(want.exceptions.join("\n"), "list"), want);
  // From a fresh cgroup (allow all): reset, then every exception.
  const fresh = devicesTransition(policyFromList("a *:* rwm", "list"), want);
  assert.deepEqual(fresh[0], ["devices.deny", "a"]);
  assert.deepEqual(fresh.slice(1).map(([f]) => f), want.exceptions.map(() => "devices.allow"));
  // Unchanged: nothing is written (a running container never sees "deny all").
  assert.deepEqual(devicesTransition(want, want), []);
  // One exception loosened, one gone: exactly those are put back, no reset.
  const drifted = { default: "deny" as const, exceptions: want.exceptions.filter((e) => e !== "c 1:5 rwm").map((e) => (e === "b *:* m" ? "b *:* rwm" : e)) };
  assert.deepEqual(devicesTransition(drifted, want), [["devices.deny", "b *:* rw"], ["devices.allow", "c 1:5 rwm"]]);
});

test("a policy no longer declared is lifted to allow all", () => {
  assert.deepEqual(withLiftedLimits({ devices: [{ allow: false }] }, {}), { devices: [{ allow: true, type: "a", access: "rwm" }] });
});

test("runc's rules for a spec: its own rules (access required), then the defaults not replaced by a linux.devices path", () => {
  const spec = (linux: ContainerSpec["linux"]): ContainerSpec => ({ ociVersion: "1.0.2", process: { user: { uid: 0, gid: 0 }, args: ["sh"], cwd: "/" }, root: { path: "/r" }, linux });
  const rules = ociDeviceRules(spec({ resources: { devices: [{ allow: false, access: "rwm" }] } }));
  assert.deepEqual(devicePolicyOf(rules, "d"), devicePolicyOf(defaultDeviceRules(), "d"));
  const own = ociDeviceRules(spec({ devices: [{ path: "/dev/null", type: "c", major: 1, minor: 3 }], resources: { devices: [{ allow: false, access: "rwm" }] } }));
  assert.ok(!devicePolicyOf(own, "d").exceptions.includes("c 1:3 rwm"), "a linux.devices entry of the same path replaces runc's default");
  assert.throws(() => ociDeviceRules(spec({ resources: { devices: [{ allow: false }] } })), field("linux.resources.devices[0].access"));
});

test("the v2 filter: a prologue, one block per exception, the default last", () => {
  const insns = deviceProgram({ default: "deny", exceptions: ["c 1:3 rwm", "c *:* m"] });
  // prologue 6; "c 1:3 rwm": type, major, minor, r0, exit = 5; "c *:* m": type, 3 access tests, r0, exit = 6; default 2.
  assert.equal(insns.length, 6 + 5 + 6 + 2);
  const exit = 0x95;
  assert.equal(insns.filter((i) => i.code === exit).length, 3);
  // Every conditional jump lands inside the program, on the start of the next block.
  insns.forEach((i, pc) => {
    if (i.code === 0x55 || i.code === 0x5d) assert.ok(pc + 1 + i.off < insns.length && insns[pc + 1 + i.off - 1]!.code === exit, `jump at ${pc} ends a block`);
  });
  assert.equal(insns.at(-2)!.imm, 0, "default deny returns 0");
});

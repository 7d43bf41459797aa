import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ValidationError } from "../../src/sys/errors";
import { loadProfile, parseProfile, parseProfileJson, validateProfile } from "../../src/seccomp/validate";
import { expandCaps, resolveProfile } from "../../src/seccomp/resolve";
import { jsonErrorOffset } from "../../src/seccomp/jsonLocation";
import { testPrefix } from "../../fixtures/prefix";
import { builtinDockerProfilePath } from "./fixtures";

function rejects(input: unknown, field: string, message: RegExp): void {
  assert.throws(
    () => validateProfile(input),
    (err: unknown) => {
      assert.ok(err instanceof ValidationError, `expected ValidationError, got ${String(err)}`);
      assert.equal(err.field, field);
      assert.match(err.message, message);
      return true;
    },
  );
}

const allow = { defaultAction: "SCMP_ACT_ALLOW" };

test("Docker's default profile validates and keeps every entry", () => {
  const p = loadProfile("docker-default");
  assert.equal(p.defaultAction, "SCMP_ACT_ERRNO");
  assert.equal(p.defaultErrnoRet, 1);
  assert.equal(p.syscalls.length, 33);
  assert.equal(p.archMap.length, 9);
  assert.deepEqual(loadProfile(builtinDockerProfilePath()), p);
});

test("an OCI linux.seccomp object validates", () => {
  const p = validateProfile({
    defaultAction: "SCMP_ACT_ERRNO",
    architectures: ["SCMP_ARCH_X86_64"],
    flags: ["SECCOMP_FILTER_FLAG_LOG"],
    syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 3, op: "SCMP_CMP_LE" }] }],
  });
  assert.deepEqual(p.syscalls[0]!.args, [{ index: 0, op: "SCMP_CMP_LE", value: 3n, valueTwo: 0n }]);
  assert.deepEqual(p.flags, ["SECCOMP_FILTER_FLAG_LOG"]);
});

test("an unknown action names the entry and lists the valid ones", () => {
  rejects(
    { ...allow, syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }, { names: ["write"], action: "SCMP_ACT_FOO" }] },
    "syscalls[1].action",
    /^syscalls\[1\]\.action: unknown action "SCMP_ACT_FOO" \(use one of SCMP_ACT_KILL, .*SCMP_ACT_ALLOW\)$/,
  );
  rejects({ defaultAction: "ALLOW" }, "defaultAction", /unknown action "ALLOW"/);
  rejects({ defaultAction: "SCMP_ACT_NOTIFY" }, "defaultAction", /SCMP_ACT_NOTIFY needs a seccomp listener/);
});

test("malformed JSON reports line and column", () => {
  const text = '{\n  "defaultAction": "SCMP_ACT_ALLOW",\n  "syscalls": [,]\n}\n';
  assert.throws(
    () => parseProfile(text, "broken.json"),
    (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.equal(err.field, "broken.json");
      assert.match(err.message, /^broken\.json: malformed JSON at line 3 column 16: /);
      return true;
    },
  );
});

test("architectures and archMap together are refused", () => {
  rejects(
    { ...allow, architectures: ["SCMP_ARCH_X86_64"], archMap: [{ architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86"] }] },
    "architectures",
    /both architectures and archMap are given \(use either architectures or archMap, not both\)/,
  );
  rejects({ ...allow, architectures: ["SCMP_ARCH_Z80"] }, "architectures[0]", /unknown architecture "SCMP_ARCH_Z80"/);
  rejects({ ...allow, archMap: [{ architecture: "SCMP_ARCH_X86_64", subArchitectures: ["x86"] }] }, "archMap[0].subArchitectures[0]", /unknown architecture "x86"/);
});

test("argument conditions: unknown op, index above 5, bad values", () => {
  const rule = (arg: object) => ({ ...allow, syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO", args: [arg] }] });
  rejects(rule({ index: 0, value: 1, op: "SCMP_CMP_MAYBE" }), "syscalls[0].args[0].op", /unknown operator "SCMP_CMP_MAYBE" \(use one of SCMP_CMP_NE, .*SCMP_CMP_MASKED_EQ\)/);
  rejects(rule({ index: 6, value: 1, op: "SCMP_CMP_EQ" }), "syscalls[0].args[0].index", /must be an argument index 0-5, got 6/);
  rejects(rule({ index: 0, value: -1, op: "SCMP_CMP_EQ" }), "syscalls[0].args[0].value", /unsigned 64-bit/);
  rejects(rule({ index: 0, op: "SCMP_CMP_EQ" }), "syscalls[0].args[0].value", /is required/);
  rejects(rule({ index: 0, value: 1, op: "SCMP_CMP_EQ", valu2: 3 }), "syscalls[0].args[0].valu2", /unknown field/);
});

test("capability names are checked in profiles and in the caps context", () => {
  rejects(
    { ...allow, syscalls: [{ names: ["mount"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_SYS_ADMN"] } }] },
    "syscalls[0].includes.caps[0]",
    /unknown capability "CAP_SYS_ADMN"/,
  );
  assert.throws(() => expandCaps(["CAP_CHOWN", "CAP_NOPE"]), (err: unknown) => err instanceof ValidationError && err.field === "caps[1]" && /unknown capability "CAP_NOPE"/.test(err.message));
  assert.deepEqual(expandCaps(["sys_admin", "CAP_CHOWN"]), ["CAP_CHOWN", "CAP_SYS_ADMIN"]);
  assert.equal(expandCaps("default").length, 14);
  assert.equal(expandCaps("all").length, 41);
});

test("other bad input names its field", () => {
  rejects({ ...allow, listenerPath: "/run/notify.sock" }, "listenerPath", /not supported/);
  rejects({ ...allow, flags: ["SECCOMP_FILTER_FLAG_TSYNC"] }, "flags[0]", /TSYNC is not supported/);
  rejects({ ...allow, syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW", errnoRet: 1 }] }, "syscalls[0].errnoRet", /only meaningful with SCMP_ACT_ERRNO/);
  rejects({ ...allow, syscalls: [{ name: "read", names: ["write"], action: "SCMP_ACT_ALLOW" }] }, "syscalls[0].name", /both name and names/);
  rejects({ ...allow, syscalls: [{ names: [], action: "SCMP_ACT_ALLOW" }] }, "syscalls[0].names", /at least one syscall/);
  rejects({ ...allow, syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW", includes: { minKernel: "five" } }] }, "syscalls[0].includes.minKernel", /major\.minor/);
  rejects({ ...allow, syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW", excludes: { arches: ["z80"] } }] }, "syscalls[0].excludes.arches[0]", /unknown architecture "z80"/);
  rejects({ ...allow, defaultErrnoRet: 70000 }, "defaultErrnoRet", /between 0 and 65535/);
  rejects({ ...allow, defaultAcion: "SCMP_ACT_ALLOW" }, "defaultAcion", /unknown field/);
  rejects([], "profile", /must be a JSON object/);
  assert.throws(() => resolveProfile(validateProfile(allow), { arch: "mips" as never }), (err: unknown) => err instanceof ValidationError && err.field === "arch");
});

test("a missing profile file is a ValidationError naming the path", () => {
  const dir = mkdtempSync(join(tmpdir(), `${testPrefix("seccomp")}-`));
  try {
    const missing = join(dir, "nope.json");
    assert.throws(() => loadProfile(missing), (err: unknown) => err instanceof ValidationError && err.message.includes(missing));
    const file = join(dir, "p.json");
    writeFileSync(file, JSON.stringify({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }] }));
    assert.equal(loadProfile(file).syscalls[0]!.names[0], "read");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("64-bit argument values in JSON text stay exact", () => {
  const v = parseProfileJson('{"a": 18446744073709551615, "b": 4294967295}') as { a: unknown; b: unknown };
  assert.equal(v.a, 18446744073709551615n);
  assert.equal(v.b, 4294967295);
  const p = parseProfile('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["ioctl"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":18446744073709551615,"op":"SCMP_CMP_EQ"}]}]}');
  assert.equal(p.syscalls[0]!.args[0]!.value, 0xffffffffffffffffn);
});

test("includes/excludes select Docker's rules by caps, arch and kernel", () => {
  const p = loadProfile("docker-default");
  const names = (opts: Parameters<typeof resolveProfile>[1]) => resolveProfile(p, opts).rules.flatMap((r) => r.names);
  const def = names({ arch: "x86_64", caps: "default", kernel: "6.1" });
  assert.ok(def.includes("arch_prctl") && def.includes("chroot"));
  assert.ok(!def.includes("mount") && !def.includes("set_tls"));
  const admin = names({ arch: "x86_64", caps: ["CAP_SYS_ADMIN"], kernel: "6.1" });
  assert.ok(admin.includes("mount") && !admin.includes("chroot"));
  assert.ok(names({ arch: "aarch64", caps: "default", kernel: "6.1" }).includes("set_tls"));
  // process_vm_readv & co. need kernel 4.8 without CAP_SYS_PTRACE.
  assert.ok(!names({ arch: "x86_64", caps: "default", kernel: "4.4" }).includes("ptrace"));
  assert.deepEqual(resolveProfile(p, { arch: "x86_64" }).architectures, ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
  assert.deepEqual(resolveProfile(p, { arch: "aarch64" }).architectures, ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]);
});

test("the JSON error locator agrees with JSON.parse on what is valid", () => {
  const cases: Array<[string, number | undefined]> = [
    ['{"a": [1, 2.5e3, -0, "x\\u00e9\\n", true, false, null, {}]}', undefined],
    ['{"a":1,}', 7],
    ['{"a": 1', 7],
    ["[01]", 2],
    ['"tab\there"', 4],
    ["{} x", 3],
    ["", 0],
  ];
  for (const [text, offset] of cases) {
    assert.equal(jsonErrorOffset(text), offset, text);
    let valid = true;
    try {
      JSON.parse(text);
    } catch {
      valid = false;
    }
    assert.equal(valid, offset === undefined, text);
  }
  assert.throws(() => parseProfile('{"defaultAction": "SCMP_ACT_ALLOW"'), /malformed JSON at line 1 column 35/);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { compileProfile, compiledFilterCacheSize } from "../../src/seccomp/compile";
import { loadProfile, validateProfile } from "../../src/seccomp/validate";
import { decodeBpf, BPF_RET_K, retErrno } from "../../src/seccomp/bpf";
import { libseccompVersion } from "../../src/sys/libseccomp";
import { resolveProfile } from "../../src/seccomp/resolve";
import type { SeccompArg } from "../../src/seccomp/profile";
import { NR_SCMP_ERROR, seccompSyscallResolveName, seccompSyscallResolveNameArch } from "../../src/sys/libseccomp";
import { allowListProfile, builtinDockerProfilePath } from "./fixtures";
import { AUDIT_ARCH_X86_64, runSeccompBpf, SECCOMP_RET_ALLOW, type SeccompCall } from "./bpfRun";

const onX86 = process.arch === "x64" ? false : "libseccomp resolves syscall names for its native architecture only";

test("libseccomp version is readable", () => {
  const v = libseccompVersion();
  assert.equal(v.major, 2);
  assert.ok(Number.isInteger(v.minor) && Number.isInteger(v.micro));
});

/** What a rule's action makes the filter return (only the actions Docker's default profile uses). */
function expectedReturn(action: string, errnoRet: number | undefined): number {
  if (action === "SCMP_ACT_ALLOW") return SECCOMP_RET_ALLOW;
  if (action === "SCMP_ACT_ERRNO") return retErrno(errnoRet ?? 1);
  throw new Error(`no expected return for ${action}`);
}

/** An argument value that meets one condition. */
function meeting(c: SeccompArg): bigint {
  switch (c.op) {
    case "SCMP_CMP_EQ": return c.value;
    case "SCMP_CMP_LT": return c.value - 1n;
    case "SCMP_CMP_GT": return c.value + 1n;
    case "SCMP_CMP_MASKED_EQ": return c.valueTwo;
    default: throw new Error(`no value meets ${c.op}`);
  }
}

/** The syscalls of one rule: one per argument condition (conditions on one argument are alternatives), or one without arguments. */
function callsOf(rule: { args: SeccompArg[] }, nr: number): SeccompCall[] {
  if (rule.args.length === 0) return [{ nr, arch: AUDIT_ARCH_X86_64 }];
  return rule.args.map((c) => {
    const args = [0n, 0n, 0n, 0n, 0n, 0n];
    args[c.index] = meeting(c);
    return { nr, arch: AUDIT_ARCH_X86_64, args };
  });
}

// Holds for any libseccomp version: the filter is asked what it does with every syscall the
// profile names, instead of counting rules (368 with libseccomp 2.5.4, which lacks the newest
// syscalls: any other version counts differently).
test("Docker's default profile: every rule it selects for x86_64 with Docker's default caps is in the filter, and nothing else is allowed", { skip: onX86 }, () => {
  const profile = loadProfile("docker-default");
  const options = { arch: "x86_64", caps: "default", kernel: "6.18" } as const;
  const f = compileProfile(profile, options);
  const resolved = resolveProfile(profile, options);
  assert.deepEqual(f.architectures, ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
  assert.equal(f.instructions, f.bpf.length / 8);
  assert.ok(f.stubInstructions > 0 && f.stubInstructions < 20);
  assert.match(f.digest, /^[0-9a-f]{64}$/);
  // Names this libseccomp does not know are reported, never dropped silently (2.5.4 predates these).
  const nrOf = (name: string): number => seccompSyscallResolveNameArch(AUDIT_ARCH_X86_64, name);
  for (const name of f.unknownSyscalls) assert.equal(seccompSyscallResolveName(name), NR_SCMP_ERROR, `${name} is reported unknown but libseccomp knows it`);
  if (libseccompVersion().minor <= 5) for (const n of ["mseal", "listmount", "statmount"]) assert.ok(f.unknownSyscalls.includes(n), n);

  // Every selected rule, asked with arguments that meet its condition, returns its action.
  let asked = 0;
  const selected = new Set<string>();
  for (const rule of resolved.rules) {
    for (const name of rule.names) {
      selected.add(name);
      const nr = nrOf(name);
      // Unknown to libseccomp (reported above), or a syscall x86_64 does not have.
      if (nr < 0) continue;
      for (const call of callsOf(rule, nr)) {
        assert.equal(runSeccompBpf(f.bpf, call).toString(16), expectedReturn(rule.action, rule.errnoRet).toString(16), `${name}(${call.args?.join(", ") ?? ""})`);
        asked++;
      }
    }
  }
  assert.ok(asked > 300, `${asked} syscalls asked`);
  // What the profile names but does not select for these caps (mount, reboot, bpf, ...) gets the default: EPERM.
  const notSelected = profile.syscalls.flatMap((r) => r.names).filter((n) => !selected.has(n) && nrOf(n) >= 0);
  assert.ok(notSelected.includes("mount") && notSelected.includes("reboot"), notSelected.join(" "));
  for (const name of notSelected) assert.equal(runSeccompBpf(f.bpf, { nr: nrOf(name), arch: AUDIT_ARCH_X86_64 }), retErrno(1), name);
  // Conditions hold: socket(AF_ALG) and socket(AF_VSOCK), personality(0x1234) are refused.
  for (const [name, arg] of [["socket", 38n], ["socket", 40n], ["personality", 0x1234n]] as const) {
    assert.equal(runSeccompBpf(f.bpf, { nr: nrOf(name), arch: AUDIT_ARCH_X86_64, args: [arg] }), retErrno(1), `${name}(${arg})`);
  }
  // The same profile read from its file in the repository compiles to the same filter.
  assert.equal(compileProfile(loadProfile(builtinDockerProfilePath()), options).digest, f.digest);
});

test("the digest is stable across compiles and differs per caps context and arch", () => {
  const p = loadProfile("docker-default");
  const a = compileProfile(p, { arch: "x86_64", caps: "default", kernel: "6.18" });
  // A fresh validation of the same profile, so the cache has to find it by content.
  const b = compileProfile(loadProfile("docker-default"), { arch: "x86_64", caps: "default", kernel: "6.18" });
  assert.equal(a.digest, b.digest);
  assert.deepEqual(a.bpf, b.bpf);
  const all = compileProfile(p, { arch: "x86_64", caps: "all", kernel: "6.18" });
  assert.notEqual(all.digest, a.digest);
  assert.ok(all.rules > a.rules);
  const arm = compileProfile(p, { arch: "aarch64", caps: "default", kernel: "6.18" });
  assert.notEqual(arm.digest, a.digest);
  assert.deepEqual(arm.architectures, ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]);
  assert.ok(arm.rules > 300 && arm.instructions > 0);
  assert.ok(compiledFilterCacheSize() >= 3);
});

test("the ENOSYS stub returns ENOSYS above the highest known syscall and falls through otherwise", () => {
  const p = loadProfile("docker-default");
  const withStub = compileProfile(p, { arch: "x86_64", kernel: "6.18" });
  const without = compileProfile(p, { arch: "x86_64", kernel: "6.18", enosysStub: false });
  assert.equal(without.stubInstructions, 0);
  assert.equal(withStub.instructions, without.instructions + withStub.stubInstructions);
  assert.deepEqual(withStub.bpf.subarray(withStub.stubInstructions * 8), without.bpf);
  const stub = decodeBpf(withStub.bpf.subarray(0, withStub.stubInstructions * 8));
  // The only return in the stub is SECCOMP_RET_ERRNO | ENOSYS.
  const rets = stub.filter((i) => i.code === BPF_RET_K);
  assert.deepEqual(rets.map((i) => i.k), [0x00050000 | 38]);
  // Every jump lands inside the stub or exactly on the first libseccomp instruction.
  stub.forEach((ins, at) => {
    if ((ins.code & 0x07) === 0x05) {
      const targets = ins.code === 0x05 ? [at + 1 + ins.k] : [at + 1 + ins.jt, at + 1 + ins.jf];
      for (const t of targets) assert.ok(t <= stub.length, `jump at ${at} to ${t}`);
    }
  });
  assert.match(withStub.pfc(), /hostform ENOSYS stub/);
  assert.match(withStub.pfc(), /# filter for arch x86_64/);
  // A permissive default needs no stub.
  const allowAll = compileProfile(validateProfile({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mount"], action: "SCMP_ACT_ERRNO" }] }));
  assert.equal(allowAll.stubInstructions, 0);
  assert.equal(allowAll.rules, 1);
});

test("repeated argument indexes split into one rule per condition; rules equal to the default are skipped", { skip: onX86 }, () => {
  const profile = allowListProfile();
  const f = compileProfile(validateProfile(profile), { arch: "x86_64" });
  const base = profile.syscalls![0]!.names!.length;
  // base names + 3 socket rules + 2 personality rules (split); kexec_load equals the default.
  assert.equal(f.rules, base + 3 + 2 - f.unknownSyscalls.length);
  assert.match(f.pfc(), /personality/);
});

test("hostform seccomp compile prints the summary, --json and --pfc", () => {
  const script = (args: string[]) =>
    `require(${JSON.stringify(join(__dirname, "..", "..", "src", "cli", "commands", "seccompCompile.js"))}).seccompCompileCommand.run(${JSON.stringify(args)}).then((c) => { process.exitCode = c; })`;
  const run = (args: string[]) => spawnSync(process.execPath, ["-e", script(args)], { encoding: "utf8" });
  const json = run(["docker-default", "--json", "--arch", "x86_64", "--caps", "default"]);
  assert.equal(json.status, 0, json.stderr);
  const out = JSON.parse(json.stdout) as Record<string, unknown>;
  assert.deepEqual(Object.keys(out).sort(), ["digest", "instructions", "rules", "unknownSyscalls"]);
  const expected = compileProfile(loadProfile("docker-default"), { arch: "x86_64", caps: "default" });
  assert.deepEqual({ digest: out.digest, rules: out.rules, unknown: out.unknownSyscalls }, { digest: expected.digest, rules: expected.rules, unknown: expected.unknownSyscalls });
  const text = run(["docker-default", "--arch", "x86_64", "--caps", "CAP_SYS_ADMIN,CAP_CHOWN"]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^rules: +\d+$/m);
  assert.match(text.stdout, /^instructions: +\d+ \(\d+ in the ENOSYS stub\)$/m);
  assert.match(text.stdout, /^digest: +sha256:[0-9a-f]{64}$/m);
  const pfc = run(["docker-default", "--pfc"]);
  assert.equal(pfc.status, 0, pfc.stderr);
  assert.match(pfc.stdout, /pseudo filter code start/);
  const bad = run(["docker-default", "--arch", "sparc"]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--arch: unknown architecture "sparc"/);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { compileProfile, compiledFilterCacheSize } from "../../src/seccomp/compile";
import { loadProfile, validateProfile } from "../../src/seccomp/validate";
import { decodeBpf, BPF_RET_K } from "../../src/seccomp/bpf";
import { libseccompVersion } from "../../src/sys/libseccomp";
import { allowListProfile, sharedDockerProfilePath } from "./fixtures";

const onX86 = process.arch === "x64" ? false : "expected counts were measured on x86_64";

test("libseccomp version is readable", () => {
  const v = libseccompVersion();
  assert.equal(v.major, 2);
  assert.ok(Number.isInteger(v.minor) && Number.isInteger(v.micro));
});

test("Docker's default profile compiles to 368 rules on x86_64 with Docker's default caps", { skip: onX86 }, () => {
  const shared = sharedDockerProfilePath();
  const sources = shared === undefined ? ["docker-default"] : ["docker-default", shared];
  const digests = new Set<string>();
  for (const source of sources) {
    const f = compileProfile(loadProfile(source), { arch: "x86_64", caps: "default", kernel: "6.18" });
    assert.equal(f.rules, 368, source);
    assert.ok(f.instructions > 1000, `${f.instructions} instructions`);
    assert.equal(f.instructions, f.bpf.length / 8);
    assert.ok(f.stubInstructions > 0 && f.stubInstructions < 20);
    assert.deepEqual(f.architectures, ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    assert.ok(Array.isArray(f.unknownSyscalls));
    // libseccomp 2.5.4 predates these; they must be reported, never dropped silently.
    if (libseccompVersion().minor <= 5) for (const n of ["mseal", "listmount", "statmount"]) assert.ok(f.unknownSyscalls.includes(n), n);
    assert.match(f.digest, /^[0-9a-f]{64}$/);
    digests.add(f.digest);
  }
  // The built-in copy and the shared file are the same profile: same filter.
  assert.equal(digests.size, 1);
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
  if (process.arch === "x64") assert.equal(out.rules, 368);
  const expected = compileProfile(loadProfile("docker-default"), { arch: "x86_64", caps: "default" });
  assert.equal(out.digest, expected.digest);
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

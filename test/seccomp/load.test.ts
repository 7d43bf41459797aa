import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileProfile, type CompiledFilter } from "../../src/seccomp/compile";
import { loadProfile, validateProfile } from "../../src/seccomp/validate";
import { spawnWithFilter } from "../../src/seccomp/load";
import { parseSeccompStatus, readSeccompStatus } from "../../src/seccomp/inspect";
import { encodeBpf } from "../../src/seccomp/bpf";
import { SysError } from "../../src/sys/errors";
import { umount2 } from "../../src/sys/libc";
import { MNT_DETACH } from "../../src/sys/constants";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { PY_SYSCALLS, PYTHON, allowListProfile, errnosOf } from "./fixtures";

// Syscall numbers of the calls the children make (x86_64).
const NR = { mount: 165, unshare: 272, kexec_load: 246, socket: 41, personality: 135 };
const skip = needsRoot || (process.arch !== "x64" ? "syscall numbers below are x86_64's" : false);

let dockerFilter: CompiledFilter | undefined;
function docker(): CompiledFilter {
  dockerFilter ??= compileProfile(loadProfile("docker-default"), { caps: "default" });
  return dockerFilter;
}

function isMounted(path: string): boolean {
  return readFileSync("/proc/self/mountinfo", "utf8").split("\n").some((l) => l.split(" ")[4] === path);
}

test("under Docker's default a child gets EPERM for mount and unshare and still runs ls", { skip }, async () => {
  const dir = join(tmpdir(), testPrefix("seccomp"));
  const target = join(dir, "mnt");
  mkdirSync(target, { recursive: true });
  writeFileSync(join(dir, "visible-file"), "");
  try {
    const f = docker().bpf;
    const mount = await spawnWithFilter(f, "/usr/bin/mount", ["-t", "tmpfs", "none", target]);
    assert.equal(mount.status, 32);
    assert.match(mount.stderr, new RegExp(`^mount: ${target}: permission denied\\.`));
    assert.equal(isMounted(target), false);

    const unshare = await spawnWithFilter(f, "/usr/bin/unshare", ["-m", "true"]);
    assert.equal(unshare.status, 1);
    assert.equal(unshare.stderr, "unshare: unshare failed: Operation not permitted\n");

    // The raw calls, errno by errno: mount and unshare EPERM; plain getpid works.
    const raw = await spawnWithFilter(f, PYTHON, ["-c", PY_SYSCALLS, `${NR.unshare}:0x20000`, `${NR.mount}:0,0,0,0,0`, "39:"]);
    assert.equal(raw.status, 0, raw.stderr);
    const errnos = errnosOf(raw.stdout);
    assert.equal(errnos[`${NR.unshare}:0x20000`], 1);
    assert.equal(errnos[`${NR.mount}:0,0,0,0,0`], 1);
    assert.equal(errnos["39:"], 0);

    const ls = await spawnWithFilter(f, "/bin/ls", [dir]);
    assert.equal(ls.status, 0, ls.stderr);
    assert.deepEqual(ls.stdout.split("\n").filter((l) => l !== ""), ["mnt", "visible-file"]);
  } finally {
    if (isMounted(target)) umount2(target, MNT_DETACH);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the ENOSYS stub: a syscall above the profile's highest gets ENOSYS, a known denied one EPERM", { skip }, async () => {
  const withStub = await spawnWithFilter(docker().bpf, PYTHON, ["-c", PY_SYSCALLS, "1000:", `${NR.kexec_load}:0,0,0,0`]);
  assert.equal(withStub.status, 0, withStub.stderr);
  assert.deepEqual(errnosOf(withStub.stdout), { "1000:": 38, [`${NR.kexec_load}:0,0,0,0`]: 1 });
  const plain = compileProfile(loadProfile("docker-default"), { caps: "default", enosysStub: false });
  const without = await spawnWithFilter(plain.bpf, PYTHON, ["-c", PY_SYSCALLS, "1000:"]);
  assert.deepEqual(errnosOf(without.stdout), { "1000:": 1 });
});

test("an allow-list profile with errnoRet and MASKED_EQ behaves as written", { skip }, async () => {
  const f = compileProfile(validateProfile(allowListProfile()), { caps: "default" });
  const SOCK_CLOEXEC = 0x80000;
  const calls = {
    unix: `${NR.socket}:1,1,0`,
    inet: `${NR.socket}:2,2,0`,
    inet6Raw: `${NR.socket}:10,${3 | SOCK_CLOEXEC},0`,
    inet6Dgram: `${NR.socket}:10,2,0`,
    netlink: `${NR.socket}:16,3,0`,
    persQuery: `${NR.personality}:0xffffffff`,
    persLinux: `${NR.personality}:0`,
    persOther: `${NR.personality}:0x8`,
    unlisted: `${NR.kexec_load}:0,0,0,0`,
    beyond: "1000:",
  };
  const r = await spawnWithFilter(f.bpf, PYTHON, ["-c", PY_SYSCALLS, ...Object.values(calls)]);
  assert.equal(r.status, 0, r.stderr);
  const e = errnosOf(r.stdout);
  assert.equal(e[calls.unix], 0);
  assert.equal(e[calls.inet], 97, "AF_INET: errnoRet 97 (EAFNOSUPPORT)");
  assert.equal(e[calls.inet6Raw], 13, "AF_INET6 + SOCK_RAW|SOCK_CLOEXEC: MASKED_EQ 0xf == 3 -> 13 (EACCES)");
  assert.equal(e[calls.inet6Dgram], 1, "AF_INET6 datagram: no rule, default errno 1");
  assert.equal(e[calls.netlink], 1);
  assert.equal(e[calls.persQuery], 0, "split rule, second condition");
  assert.equal(e[calls.persLinux], 0, "split rule, first condition");
  assert.equal(e[calls.persOther], 1);
  assert.equal(e[calls.unlisted], 1);
  assert.equal(e[calls.beyond], 38);
});

test("the filter binds the child and the discarded worker only, never the calling thread", { skip }, async () => {
  const r = await spawnWithFilter(docker().bpf, "/bin/cat", ["/proc/self/status"]);
  assert.equal(r.status, 0, r.stderr);
  const child = parseSeccompStatus(r.stdout);
  assert.equal(child.mode, "filter");
  assert.equal(child.noNewPrivs, true);
  assert.equal(child.filters, 1);
  const self = readSeccompStatus("self");
  assert.equal(self.mode, "disabled");
  assert.equal(self.noNewPrivs, false);
  assert.deepEqual(readSeccompStatus(process.pid, process.pid), self);
});

test("a program the kernel refuses fails with EINVAL and starts no child", { skip }, async () => {
  const dir = join(tmpdir(), testPrefix("seccomp"));
  mkdirSync(dir);
  try {
    const marker = join(dir, "ran");
    const bad = encodeBpf([{ code: 0xffff, jt: 0, jf: 0, k: 0 }]);
    await assert.rejects(spawnWithFilter(bad, "/usr/bin/touch", [marker]), (err: unknown) => {
      assert.ok(err instanceof SysError);
      assert.equal(err.syscall, "seccomp");
      assert.equal(err.code, "EINVAL");
      return true;
    });
    assert.equal(existsSync(marker), false);
    await assert.rejects(spawnWithFilter(docker().bpf, join(dir, "no-such-binary")), (err: unknown) => err instanceof SysError && err.code === "ENOENT");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

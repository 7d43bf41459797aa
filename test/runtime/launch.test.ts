import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { closeSync, existsSync, openSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Launcher } from "../../src/runtime/launcher";
import { defaultSpec, validateSpec, type ContainerSpec, type DefaultSpecOptions } from "../../src/runtime/spec";
import { ValidationError } from "../../src/sys/errors";
import { capMask, pidfdSendSignal } from "../../src/sys/libc";
import { DOCKER_DEFAULT_CAPABILITIES } from "../../src/sys/constants";
import { needsRoot, testPrefix } from "../helpers/prefix";
import { makeBusyboxBundle } from "./busyboxRootfs";

const prefix = testPrefix("runtime");
let bundle = "";
let rootfs = "";
let launcher: Launcher;
/** Host PIDs of every init the tests started, to prove none is left. */
const pids: number[] = [];
let outSeq = 0;

before(() => {
  if (needsRoot !== false) return;
  ({ bundle, rootfs } = makeBusyboxBundle(prefix));
  launcher = new Launcher({ poolSize: 1 });
});

after(async () => {
  await launcher?.close();
  if (bundle !== "") rmSync(bundle, { recursive: true, force: true });
});

function spec(args: string[], extra: Partial<DefaultSpecOptions> = {}): ContainerSpec {
  return defaultSpec({ rootfs, args, hostname: prefix.slice(0, 60), ...extra });
}

/** Runs a container to completion; returns its exit and what it wrote to stdout and stderr. */
async function run(s: ContainerSpec, seccompFilter?: Buffer): Promise<{ code: number | null; signal: string | null; out: string }> {
  const file = join(bundle, `out-${outSeq++}`);
  const fd = openSync(file, "w+");
  try {
    const c = await launcher.launch(s, { stdio: ["ignore", fd, fd], onCgroup: (pid) => void pids.push(pid), ...(seccompFilter ? { seccompFilter } : {}) });
    const exit = await c.exited;
    return { ...exit, out: readFileSync(file, "utf8") };
  } finally {
    closeSync(fd);
  }
}

function statusField(status: string, name: string): string {
  const line = status.split("\n").find((l) => l.startsWith(`${name}:`));
  assert.ok(line !== undefined, `${name} in ${status}`);
  return line.slice(name.length + 1).trim();
}

test("/bin/true runs and exits 0; an exit code propagates", { skip: needsRoot }, async () => {
  assert.deepEqual(await run(spec(["/bin/true"])), { code: 0, signal: null, out: "" });
  const r = await run(spec(["sh", "-c", "exit 7"]));
  assert.equal(r.code, 7);
});

test("the default container has Docker's caps, no_new_privs, uid 0, nothing ignored or blocked", { skip: needsRoot }, async () => {
  const r = await run(spec(["cat", "/proc/self/status"]));
  assert.equal(r.code, 0, r.out);
  const caps = capMask(DOCKER_DEFAULT_CAPABILITIES).toString(16).padStart(16, "0");
  assert.equal(statusField(r.out, "CapEff"), caps);
  assert.equal(statusField(r.out, "CapBnd"), caps);
  assert.equal(statusField(r.out, "CapInh"), "0000000000000000");
  assert.equal(statusField(r.out, "CapAmb"), "0000000000000000");
  assert.equal(statusField(r.out, "NoNewPrivs"), "1");
  assert.equal(statusField(r.out, "Seccomp"), "0");
  assert.match(statusField(r.out, "Uid"), /^0\s+0\s+0\s+0$/);
  // Node ignores SIGPIPE and SIGXFSZ; the init must not hand that on.
  assert.equal(statusField(r.out, "SigIgn"), "0000000000000000");
  assert.equal(statusField(r.out, "SigBlk"), "0000000000000000");
});

test("hostname, PID 1 and fds: the program is PID 1 of its own namespace with only stdio open", { skip: needsRoot }, async () => {
  const r = await run(spec(["sh", "-c", "hostname; echo pid=$$; ls /proc | grep -c '^[0-9]'; ls /proc/self/fd"]));
  assert.equal(r.code, 0, r.out);
  const [host, pid, count, ...fds] = r.out.trim().split("\n");
  assert.equal(host, prefix.slice(0, 60));
  assert.equal(pid, "pid=1");
  // sh itself plus the ls/grep of the pipeline: nothing from the host is visible.
  assert.ok(Number(count) <= 3, `processes visible: ${count}`);
  // 0-2 plus the directory fd ls opened to list them.
  assert.deepEqual(fds.filter((f) => Number(f) > 3), []);
});

test("mounts: the rootfs is / and the old root is gone", { skip: needsRoot }, async () => {
  const r = await run(spec(["cat", "/proc/self/mountinfo"]));
  assert.equal(r.code, 0, r.out);
  const mounts = r.out.trim().split("\n").map((l) => l.split(" "));
  const root = mounts.filter((m) => m[4] === "/");
  assert.equal(root.length, 1);
  assert.equal(root[0]![3], rootfs);
  for (const m of mounts) assert.match(m[4]!, /^\/(proc|dev|sys)?(\/|$)/, `unexpected mount point ${m[4]}`);
  assert.ok(mounts.some((m) => m[4] === "/sys" && m[5]!.split(",").includes("ro")), "/sys is read-only");
});

test("masked and read-only paths hold", { skip: needsRoot }, async () => {
  const script = [
    "cat /proc/keys | head -c 1 | grep -c . || true",
    "ls /sys/firmware | grep -c . || true",
    "[ -e /proc/kcore ] && (cat /proc/kcore >/dev/null 2>&1 && echo kcore-read || echo kcore-denied) || echo kcore-absent",
    "(echo x > /proc/sys/kernel/domainname) 2>/dev/null && echo sys-writable || echo sys-ro",
  ].join("; ");
  const r = await run(spec(["sh", "-c", script]));
  assert.equal(r.code, 0, r.out);
  const [keys, firmware, kcore, sys] = r.out.trim().split("\n");
  assert.equal(keys, "0");
  assert.equal(firmware, "0");
  assert.notEqual(kcore, "kcore-read");
  assert.equal(sys, "sys-ro");
});

test("a read-only root refuses writes", { skip: needsRoot }, async () => {
  const r = await run(spec(["sh", "-c", "touch /x 2>&1; echo $?"], { readonlyRoot: true }));
  assert.match(r.out, /Read-only file system/);
  assert.equal(existsSync(join(rootfs, "x")), false);
});

test("user 1000 sees uid 1000, its groups and no capabilities", { skip: needsRoot }, async () => {
  const r = await run(spec(["cat", "/proc/self/status"], { user: { uid: 1000, gid: 1000, additionalGids: [10] } }));
  assert.equal(r.code, 0, r.out);
  assert.match(statusField(r.out, "Uid"), /^1000\s+1000\s+1000\s+1000$/);
  assert.match(statusField(r.out, "Gid"), /^1000\s+1000\s+1000\s+1000$/);
  assert.equal(statusField(r.out, "Groups"), "10");
  assert.equal(statusField(r.out, "CapEff"), "0000000000000000");
});

test("a seccomp filter is loaded last and enforced", { skip: needsRoot || (process.arch !== "x64" && "x86_64 syscall numbers") }, async () => {
  // ld nr; mkdir(83) or mkdirat(258) -> ERRNO(EPERM); else allow.
  const ins = (code: number, jt: number, jf: number, k: number): Buffer => {
    const b = Buffer.alloc(8);
    b.writeUInt16LE(code, 0);
    b.writeUInt8(jt, 2);
    b.writeUInt8(jf, 3);
    b.writeUInt32LE(k >>> 0, 4);
    return b;
  };
  const bpf = Buffer.concat([ins(0x20, 0, 0, 0), ins(0x15, 2, 0, 83), ins(0x15, 1, 0, 258), ins(0x06, 0, 0, 0x7fff0000), ins(0x06, 0, 0, 0x00050001)]);
  const s = spec(["sh", "-c", "grep Seccomp: /proc/self/status; mkdir /tmp/d 2>&1; echo $?"]);
  s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW" };
  const r = await run(s, bpf);
  assert.match(r.out, /Seccomp:\s+2/);
  assert.match(r.out, /Operation not permitted/);
  assert.equal(existsSync(join(rootfs, "tmp", "d")), false);
});

test("no hostform process stays: the container's PID 1 is the program itself, killable by pidfd", { skip: needsRoot }, async () => {
  const c = await launcher.launch(spec(["sleep", "30"]), { onCgroup: (pid) => void pids.push(pid) });
  try {
    assert.equal(readlinkSync(`/proc/${c.pid}/exe`), "/bin/busybox");
    assert.equal(statusField(readFileSync(`/proc/${c.pid}/status`, "utf8"), "Threads"), "1");
    pidfdSendSignal(c.pidfd, 9);
    assert.deepEqual(await c.exited, { code: null, signal: "SIGKILL" });
  } finally {
    if (existsSync(`/proc/${c.pid}`)) process.kill(c.pid, "SIGKILL");
  }
});

test("a container joins another's network namespace by path", { skip: needsRoot }, async () => {
  const first = await launcher.launch(spec(["sleep", "30"]), { onCgroup: (pid) => void pids.push(pid) });
  try {
    const netns = `/proc/${first.pid}/ns/net`;
    const s = spec(["readlink", "/proc/self/ns/net"]);
    s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === "network" ? { type: "network", path: netns } : n));
    const r = await run(s);
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out.trim(), readlinkSync(netns));
  } finally {
    process.kill(first.pid, "SIGKILL");
    await first.exited;
  }
});

test("a missing program is a clear error and leaves nothing behind", { skip: needsRoot }, async () => {
  let initPid = 0;
  await assert.rejects(
    launcher.launch(spec(["no-such-program"]), { onCgroup: (pid) => void (initPid = pid) }),
    (err: unknown) => err instanceof ValidationError && err.field === "process.args[0]" && /'no-such-program' was not found/.test(err.message),
  );
  assert.ok(initPid > 0);
  assert.equal(existsSync(`/proc/${initPid}`), false, "the init is gone");
  assert.ok(!readFileSync("/proc/self/mountinfo", "utf8").includes(rootfs), "no mount of the rootfs on the host");
});

test("a bad spec is rejected naming the field, before any process starts", { skip: needsRoot }, async () => {
  const withTerminal = { ...spec(["/bin/true"]), process: { ...spec(["/bin/true"]).process, terminal: true } };
  await assert.rejects(launcher.launch(withTerminal), /^ValidationError: process\.terminal: terminals are not supported yet/);
  await assert.rejects(launcher.launch({ ...spec(["/bin/true"]), root: { path: join(bundle, "missing") } }), (e: unknown) => e instanceof ValidationError && e.field === "root.path");
  const userNs = spec(["/bin/true"]);
  userNs.linux!.namespaces!.push({ type: "user" } as never);
  assert.throws(() => validateSpec(userNs), /linux\.namespaces\[6\]\.type: user namespaces are not supported/);
  assert.throws(() => validateSpec({ ...spec(["/bin/true"]), hooks: {} }), /^ValidationError: hooks: hooks are not supported yet/);
  const joinMnt = spec(["/bin/true"]);
  joinMnt.linux!.namespaces![4] = { type: "mount", path: "/proc/1/ns/mnt" };
  assert.throws(() => validateSpec(joinMnt), /linux\.namespaces\[4\]\.path: joining an existing mount namespace is not supported yet/);
});

test("no container process or mount is left on the host", { skip: needsRoot }, async () => {
  // Each container was awaited to exit; give the kernel's reaping a moment on a busy machine.
  for (let i = 0; i < 50 && pids.some((p) => existsSync(`/proc/${p}`)); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(pids.length >= 8);
  assert.deepEqual(pids.filter((p) => existsSync(`/proc/${p}`)), []);
  assert.ok(!readFileSync("/proc/self/mountinfo", "utf8").includes(prefix));
});

import { test, after, afterEach, before } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ContainerStartError, Launcher, type PreparedContainer } from "../../src/runtime/launcher";
import { compileProfile } from "../../src/seccomp/compile";
import { DOCKER_DEFAULT_PROFILE, loadProfile } from "../../src/seccomp/validate";
import { createNamespaces, deleteNamespaces, type NamespaceSetInfo } from "../../src/ns";
import { validateSpec, type ContainerSpec } from "../../src/runtime/spec";
import { defaultSpec, type DefaultSpecOptions } from "../../src/runtime/specgen/defaults";
import { SysError, ValidationError } from "../../src/sys/errors";
import { capMask, pidfdSendSignal } from "../../src/sys/libc";
import { DOCKER_DEFAULT_CAPABILITIES } from "../../src/sys/constants";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { makeBusyboxBundle } from "../../fixtures/busyboxRootfs";
import { useTestRunDir } from "../../fixtures/nsRunDir";
import { statusField } from "../helpers/procStatus";
import { assertNoMountsOf, assertProcessesGone } from "../helpers/leftovers";

// Namespace sets made here are pinned under a run dir of this file, never /run/hostform.
const cleanRunDir = useTestRunDir();

const prefix = testPrefix("runtime");
let bundle = "";
let rootfs = "";
let launcher: Launcher;
/** Host PIDs of every init the tests started, to prove none is left; the first checkedPids were checked. */
const pids: number[] = [];
let checkedPids = 0;
let outSeq = 0;

before(() => {
  if (needsRoot !== false) return;
  ({ bundle, rootfs } = makeBusyboxBundle(prefix));
  launcher = new Launcher({ poolSize: 1 });
});

after(async () => {
  await launcher?.close();
  if (bundle !== "") rmSync(bundle, { recursive: true, force: true });
  await cleanRunDir();
});

// No container init or mount a test made outlives it: a leak fails the test that made it, also
// when it runs alone.
afterEach(async () => {
  const mine = pids.slice(checkedPids);
  checkedPids = pids.length;
  await assertProcessesGone(mine, "container processes left on the host");
  assertNoMountsOf(prefix);
});

function spec(args: string[], extra: Partial<DefaultSpecOptions> = {}): ContainerSpec {
  return defaultSpec({ rootfs, args, hostname: prefix.slice(0, 60), ...extra });
}

/** Runs a container to completion; returns its exit and what it wrote to stdout and stderr. */
async function run(s: ContainerSpec, seccompFilter?: Buffer, onCgroup?: (pid: number) => void): Promise<{ code: number | null; signal: string | null; out: string }> {
  const file = join(bundle, `out-${outSeq++}`);
  const fd = openSync(file, "w+");
  try {
    const place = (pid: number): void => {
      pids.push(pid);
      onCgroup?.(pid);
    };
    const c = await launcher.launch(s, { stdio: ["ignore", fd, fd], onCgroup: place, ...(seccompFilter ? { seccompFilter } : {}) });
    const exit = await c.exited;
    return { ...exit, out: readFileSync(file, "utf8") };
  } finally {
    closeSync(fd);
  }
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

/**
 * How mountinfo's root field names dir: its path inside the filesystem of the host mount holding it
 * (a tmpfs /tmp, as in the VM's guest, drops the "/tmp" prefix).
 */
function rootInItsFilesystem(dir: string): string {
  let best: { point: string; root: string } = { point: "/", root: "/" };
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const f = line.split(" ");
    const point = f[4];
    if (point === undefined || f[3] === undefined) continue;
    if ((dir === point || dir.startsWith(point === "/" ? "/" : `${point}/`)) && point.length >= best.point.length) best = { point, root: f[3] };
  }
  return join(best.root, dir.slice(best.point.length));
}

test("mounts: the rootfs is / and the old root is gone", { skip: needsRoot }, async () => {
  const r = await run(spec(["cat", "/proc/self/mountinfo"]));
  assert.equal(r.code, 0, r.out);
  const mounts = r.out.trim().split("\n").map((l) => l.split(" "));
  const root = mounts.filter((m) => m[4] === "/");
  assert.equal(root.length, 1);
  assert.equal(root[0]![3], rootInItsFilesystem(rootfs));
  for (const m of mounts) assert.match(m[4]!, /^\/(proc|dev|sys)?(\/|$)/, `unexpected mount point ${m[4]}`);
  assert.ok(mounts.some((m) => m[4] === "/sys" && m[5]!.split(",").includes("ro")), "/sys is read-only");
});

test("masked and read-only paths hold", { skip: needsRoot }, async () => {
  const script = [
    "cat /proc/keys | head -c 1 | grep -c . || true",
    "ls /sys/firmware | grep -c . || true",
    // Masked with the null device: it exists (when the kernel has it) but reads nothing.
    "[ -e /proc/kcore ] && { [ \"$(head -c 1 /proc/kcore 2>/dev/null | wc -c)\" = 0 ] && echo kcore-hidden || echo kcore-read; } || echo kcore-absent",
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

test("lo is up in the container's own network namespace, as runc brings it up for any spec", { skip: needsRoot }, async () => {
  // Served and fetched on 127.0.0.1 inside the container's own namespace, nowhere else.
  const probe = ["sh", "-c", "cat /sys/class/net/lo/flags; echo hostform-lo > /tmp/hello && busybox httpd -p 127.0.0.1:8080 -h /tmp && busybox wget -q -O - http://127.0.0.1:8080/hello"];
  const up = await run(spec(probe));
  assert.equal(up.code, 0, up.out);
  assert.deepEqual(up.out.trim().split("\n"), ["0x9", "hostform-lo"], "IFF_UP|IFF_LOOPBACK (runc's 0x9 too), and traffic flows");
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
  await assert.rejects(launcher.launch(withTerminal), /^ValidationError: process\.terminal: needs a console socket/);
  await assert.rejects(launcher.launch({ ...spec(["/bin/true"]), root: { path: join(bundle, "missing") } }), (e: unknown) => e instanceof ValidationError && e.field === "root.path");
  const userNs = spec(["/bin/true"]);
  userNs.linux!.namespaces!.push({ type: "user" } as never);
  assert.throws(() => validateSpec(userNs), /linux\.uidMappings: is required for a new user namespace/);
  assert.throws(() => validateSpec({ ...spec(["/bin/true"]), hooks: { createRuntime: [{ path: "hook" }] } }), /^ValidationError: hooks\.createRuntime\[0\]\.path: 'hook' is not an absolute path/);
});

test("a joined mount namespace (by path) gives the container its mounts, and none of the container's mounts reach it", { skip: needsRoot }, async () => {
  // A mount namespace of this test's own: a holder process with a tmpfs only it sees.
  const shared = join(bundle, "joined-only");
  mkdirSync(shared, { recursive: true });
  const holder = spawn("unshare", ["--mount", "--propagation", "private", "sh", "-c", `mount -t tmpfs ${prefix}-j ${shared} && echo seen-only-there > ${shared}/marker && echo ready && exec sleep 60`], { stdio: ["ignore", "pipe", "inherit"] });
  const pid = holder.pid!;
  try {
    await new Promise<void>((resolve, reject) => {
      holder.stdout.once("data", () => resolve());
      holder.once("exit", (code) => reject(new Error(`the namespace holder exited (${code})`)));
    });
    const before = readFileSync(`/proc/${pid}/mountinfo`, "utf8");
    const s = spec(["cat", "/mnt/marker"]);
    s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === "mount" ? { type: "mount", path: `/proc/${pid}/ns/mnt` } : n));
    s.mounts = [...(s.mounts ?? []), { destination: "/mnt", type: "bind", source: shared, options: ["rbind", "ro"] }];
    const r = await run(s);
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out.trim(), "seen-only-there", "the tmpfs of the joined namespace");
    assert.equal(readFileSync(`/proc/${pid}/mountinfo`, "utf8"), before, "the joined namespace is unchanged");
    assert.equal(existsSync(join(shared, "marker")), false, "the host's namespace never saw that tmpfs");
  } finally {
    holder.kill("SIGKILL");
  }
});

test("rootfsPropagation rslave: a mount the host makes under the rootfs after start reaches the container; the default rprivate keeps it out; the host loses no mount", { skip: needsRoot, timeout: 30_000 }, async () => {
  // The rootfs on a shared mount of this test's own (this host's mounts are all private).
  const base = join(bundle, "prop-rootfs");
  mkdirSync(join(base, "bin"), { recursive: true });
  for (const d of ["proc", "dev", "sys", "tmp", "mnt"]) mkdirSync(join(base, d), { recursive: true });
  copyFileSync(join(rootfs, "bin", "busybox"), join(base, "bin", "busybox"));
  const sh = (cmd: string) => assert.equal(spawnSync("sh", ["-c", cmd]).status, 0, cmd);
  sh(`mount --bind ${base} ${base} && mount --make-shared ${base}`);
  try {
    const seen = async (propagation?: "rslave"): Promise<string> => {
      rmSync(join(base, "started"), { force: true });
      const s = spec(["/bin/busybox", "sh", "-c", "/bin/busybox touch /started; for i in $(/bin/busybox seq 60); do [ -e /mnt/marker ] && break; /bin/busybox sleep 0.05; done; /bin/busybox cat /mnt/marker 2>/dev/null || echo none"], { rootfs: base });
      if (propagation !== undefined) s.linux!.rootfsPropagation = propagation;
      const before = hostMounts();
      const running = run(s);
      // Only once the container runs: a mount made before its mount namespace exists is in it anyway.
      for (let i = 0; i < 600 && !existsSync(join(base, "started")); i++) await new Promise((r) => setTimeout(r, 50));
      sh(`mount -t tmpfs ${prefix}-p ${base}/mnt && echo from-the-host > ${base}/mnt/marker`);
      try {
        const r = await running;
        assert.equal(r.code, 0, r.out);
        return r.out.trim();
      } finally {
        sh(`umount ${base}/mnt`);
        assert.deepEqual(hostMounts(), before, "the host's mounts are as before");
      }
    };
    assert.equal(await seen("rslave"), "from-the-host");
    assert.equal(await seen(), "none");
  } finally {
    spawnSync("umount", ["-R", base]);
  }
});

test("rro keeps a bind mount read-only all the way down (its submounts too), where ro covers only the top; an unknown bind option is refused by name", { skip: needsRoot }, async () => {
  const tree = join(bundle, "rro-tree");
  mkdirSync(join(tree, "sub"), { recursive: true });
  assert.equal(spawnSync("mount", ["-t", "tmpfs", `${prefix}-rro`, join(tree, "sub")]).status, 0);
  try {
    const write = "touch /data/top 2>/dev/null && echo top-rw || echo top-ro; touch /data/sub/x 2>/dev/null && echo sub-rw || echo sub-ro";
    const withOptions = async (options: string[]) => {
      const s = spec(["sh", "-c", write]);
      s.mounts = [...(s.mounts ?? []), { destination: "/data", type: "bind", source: tree, options }];
      const r = await run(s);
      assert.equal(r.code, 0, r.out);
      return r.out.trim().split("\n");
    };
    assert.deepEqual(await withOptions(["rbind", "ro"]), ["top-ro", "sub-rw"], "ro: the top mount only");
    assert.deepEqual(await withOptions(["rbind", "rro"]), ["top-ro", "sub-ro"], "rro: every mount of the tree");
    assert.deepEqual(await withOptions(["rbind", "rro", "rrw"]), ["top-rw", "sub-rw"], "a later rrw undoes it");
    const bad = spec(["/bin/true"]);
    bad.mounts = [...(bad.mounts ?? []), { destination: "/data", type: "bind", source: tree, options: ["rbind", "rr0"] }];
    await assert.rejects(launcher.launch(bad), /mounts \(\/data\): 'rr0' is not a bind mount option/);
  } finally {
    spawnSync("umount", [join(tree, "sub")]);
  }
});

test("a spec without a namespace list runs in the host's namespaces, its mounts still private to it", { skip: needsRoot }, async () => {
  const s = spec(["sh", "-c", "echo pid $$; hostname"]);
  delete s.linux!.namespaces;
  delete s.hostname;
  const mountsBefore = hostMounts();
  const r = await run(s);
  assert.equal(r.code, 0, r.out);
  // The host's pid namespace: the program is not PID 1.
  assert.match(r.out, /^pid (\d+)$/m);
  assert.notEqual(/^pid (\d+)$/m.exec(r.out)?.[1], "1");
  assert.equal(r.out.trim().split("\n")[1], readFileSync("/proc/sys/kernel/hostname", "utf8").trim(), "the host's uts namespace");
  assert.deepEqual(hostMounts(), mountsBefore, "no mount reached the host (runc would leave /proc, /dev, /sys under the rootfs)");
});

/**
 * The host's mounts as this test may judge them on a shared machine: every mount but other tests'
 * (theirs come and go meanwhile), and this file's own.
 */
function hostMounts(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => !l.includes("/tmp/hostform-test-") || l.includes(prefix));
}

/** Fields 5 and 6 of /proc/<pid>/stat: process group and session. */
function groupAndSession(pid: number): { pgrp: number; session: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { pgrp: Number(rest[2]), session: Number(rest[3]) };
}

async function kill(c: { pidfd: number; exited: Promise<unknown> }): Promise<void> {
  pidfdSendSignal(c.pidfd, 9);
  await c.exited;
}

test("ignored stdio is /dev/null: the container's, or the host's null device when the rootfs has no /dev", { skip: needsRoot }, async () => {
  const devNull = statSync("/dev/null").rdev;
  const c = await launcher.launch(spec(["sleep", "30"]), { onCgroup: (pid) => void pids.push(pid) });
  try {
    for (const fd of [0, 1, 2]) assert.equal(statSync(`/proc/${c.pid}/fd/${fd}`).rdev, devNull, `fd ${fd}`);
  } finally {
    await kill(c);
  }
  // No /dev mount and an empty /dev in the rootfs: nothing to open inside, so the host's null device.
  const bare = spec(["sleep", "30"]);
  bare.mounts = bare.mounts!.filter((m) => !m.destination.startsWith("/dev"));
  // Masking a file needs a null device in the container to bind: without one, a clear error.
  await assert.rejects(launcher.launch(bare), (e: unknown) => e instanceof ValidationError && e.field === "linux.maskedPaths");
  bare.linux!.maskedPaths = [];
  const d = await launcher.launch(bare, { onCgroup: (pid) => void pids.push(pid) });
  try {
    for (const fd of [0, 1, 2]) assert.equal(statSync(`/proc/${d.pid}/fd/${fd}`).rdev, devNull, `fd ${fd}`);
    assert.equal(existsSync(join(rootfs, "dev", "null")), false, "nothing was created in the rootfs");
  } finally {
    await kill(d);
  }
});

test("ambient capabilities the kernel cannot raise are skipped with a warning, as runc does; raisable ones are raised", { skip: needsRoot }, async () => {
  const s = spec(["cat", "/proc/self/status"]);
  s.process.capabilities!.ambient = ["CAP_NET_BIND_SERVICE"];
  const file = join(bundle, `out-${outSeq++}`);
  const fd = openSync(file, "w+");
  try {
    const prepared = await launcher.prepare(s, { stdio: ["ignore", fd, fd], onCgroup: (pid) => void pids.push(pid) });
    assert.deepEqual(prepared.warnings, ["process.capabilities.ambient: CAP_NET_BIND_SERVICE is not in both the permitted and inheritable sets; not raised"]);
    const c = await prepared.start();
    assert.equal((await c.exited).code, 0);
    assert.equal(statusField(readFileSync(file, "utf8"), "CapAmb"), "0000000000000000");
  } finally {
    closeSync(fd);
  }
  s.process.capabilities!.inheritable = ["CAP_NET_BIND_SERVICE"];
  const r = await run(s);
  assert.equal(r.code, 0, r.out);
  assert.equal(statusField(r.out, "CapAmb"), "0000000000000400");
});

test("each container is its own session and process group, not the launcher's", { skip: needsRoot }, async () => {
  const mine = groupAndSession(process.pid);
  const c = await launcher.launch(spec(["sleep", "30"]), { onCgroup: (pid) => void pids.push(pid) });
  try {
    const its = groupAndSession(c.pid);
    assert.deepEqual(its, { pgrp: c.pid, session: c.pid });
    assert.notEqual(its.pgrp, mine.pgrp);
    assert.notEqual(its.session, mine.session);
  } finally {
    await kill(c);
  }
});

test("prepare builds the whole container before start: root, user, caps, no_new_privs; the filter waits", { skip: needsRoot }, async () => {
  const s = spec(["sh", "-c", "grep -E '^(Uid|Seccomp|NoNewPrivs):' /proc/self/status"], { user: { uid: 1000, gid: 1000 } });
  s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW" };
  const bpf = compileProfile(loadProfile(DOCKER_DEFAULT_PROFILE), { caps: s.process.capabilities!.bounding! }).bpf;
  const file = join(bundle, `out-${outSeq++}`);
  let fd = openSync(file, "w+");
  let prepared: PreparedContainer | undefined;
  try {
    prepared = await launcher.prepare(s, { stdio: ["ignore", fd, fd], seccompFilter: Buffer.from(bpf), onCgroup: (pid) => void pids.push(pid) });
    // Seen from the host while created: the init stands on the container's root, as uid 1000,
    // with no_new_privs, and without the filter yet (it would restrict the waiting init).
    const root = readdirSync(`/proc/${prepared.pid}/root`).sort();
    assert.deepEqual(root, readdirSync(rootfs).sort());
    const status = readFileSync(`/proc/${prepared.pid}/status`, "utf8");
    assert.match(statusField(status, "Uid"), /^1000\s+1000\s+1000\s+1000$/);
    assert.equal(statusField(status, "NoNewPrivs"), "1");
    assert.equal(statusField(status, "Seccomp"), "0");
    assert.ok(!readFileSync("/proc/self/mountinfo", "utf8").includes(rootfs), "its mounts are not on the host");
    closeSync(fd);
    fd = -1;
    // The stdio fds may be closed once prepared: the init holds its copies.
    await new Promise((r) => setTimeout(r, 100));
    const c = await prepared.start();
    prepared = undefined;
    assert.equal((await c.exited).code, 0);
    const out = readFileSync(file, "utf8");
    assert.equal(statusField(out, "Seccomp"), "2");
    assert.match(statusField(out, "Uid"), /^1000\s+1000\s+1000\s+1000$/);
  } finally {
    await prepared?.abort();
    if (fd >= 0) closeSync(fd);
  }
});

test("setup errors are reported by prepare, not start, and leave nothing", { skip: needsRoot }, async () => {
  let initPid = 0;
  const badMount = spec(["/bin/true"]);
  badMount.mounts!.push({ destination: "/data", type: "bind", source: join(bundle, "no-such-dir"), options: ["rbind"] });
  await assert.rejects(
    launcher.prepare(badMount, { onCgroup: (pid) => void (initPid = pid) }),
    (e: unknown) => e instanceof ContainerStartError && e.step === "mount /data" && e.errno === 2,
  );
  assert.ok(initPid > 0);
  assert.equal(existsSync(`/proc/${initPid}`), false, "the init is gone");
  await assert.rejects(launcher.prepare(spec(["no-such-program"])), (e: unknown) => e instanceof ValidationError && e.field === "process.args[0]");
  const badUser = spec(["/bin/true"], { cwd: "/no-such-dir" });
  await assert.rejects(launcher.prepare(badUser), (e: unknown) => e instanceof ContainerStartError && e.step === "chdir cwd" && e.errno === 2);
  // abort() of a prepared container kills the waiting init.
  const p = await launcher.prepare(spec(["/bin/true"]), { onCgroup: (pid) => void pids.push(pid) });
  await p.abort();
  assert.equal(existsSync(`/proc/${p.pid}`), false);
  assert.ok(!readFileSync("/proc/self/mountinfo", "utf8").includes(prefix));
});

test("seccomp: without no_new_privs the filter is loaded at prepare and the waiting init still starts; an allow-list needs nothing of the init's", { skip: needsRoot || (process.arch !== "x64" && "x86_64 syscall numbers") }, async () => {
  // Without no_new_privs the filter needs CAP_SYS_ADMIN, so it goes in before the user switch:
  // the waiting init reads "start" and execs under Docker's profile.
  const s = spec(["grep", "-E", "^(Seccomp|NoNewPrivs):", "/proc/self/status"]);
  s.process.noNewPrivileges = false;
  s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW" };
  const docker = Buffer.from(compileProfile(loadProfile(DOCKER_DEFAULT_PROFILE), { caps: s.process.capabilities!.bounding! }).bpf);
  const file = join(bundle, `out-${outSeq++}`);
  const fd = openSync(file, "w+");
  try {
    const prepared = await launcher.prepare(s, { stdio: ["ignore", fd, fd], seccompFilter: docker, onCgroup: (pid) => void pids.push(pid) });
    assert.equal(statusField(readFileSync(`/proc/${prepared.pid}/status`, "utf8"), "Seccomp"), "2");
    await new Promise((r) => setTimeout(r, 100));
    const c = await prepared.start();
    const exit = await c.exited;
    const out = readFileSync(file, "utf8");
    assert.equal(exit.code, 0, out);
    assert.equal(statusField(out, "Seccomp"), "2");
    assert.equal(statusField(out, "NoNewPrivs"), "0");
  } finally {
    closeSync(fd);
  }
  // With no_new_privs: an allow-list of what busybox cat needs (found with SCMP_ACT_LOG), not
  // what the init needs (setresuid, capset, futex, epoll...): execve is its only call after the filter.
  const a = spec(["cat", "/proc/self/status"]);
  a.linux!.seccomp = {
    defaultAction: "SCMP_ACT_ERRNO",
    syscalls: [{
      names: ["execve", "read", "write", "open", "openat", "close", "exit", "exit_group", "brk", "arch_prctl", "set_tid_address",
        "mmap", "munmap", "mprotect", "fstat", "newfstatat", "getuid", "geteuid", "ioctl", "rt_sigprocmask", "rt_sigaction", "lseek",
        "prctl", "set_robust_list", "rseq", "prlimit64", "getrandom", "sendfile", "readlink"],
      action: "SCMP_ACT_ALLOW",
    }],
  };
  const allow = Buffer.from(compileProfile(loadProfile(a.linux!.seccomp as object), { caps: a.process.capabilities!.bounding! }).bpf);
  const r = await run(a, allow);
  assert.equal(r.code, 0, r.out);
  assert.equal(statusField(r.out, "Seccomp"), "2");
});

test("containers joining one pinned namespace set (a pod) share processes, hostname and network", { skip: needsRoot }, async () => {
  const set = `${prefix}-pod`;
  const info = await createNamespaces(set, ["net", "uts", "ipc", "pid"]);
  try {
    await assertPodShares(info);
  } finally {
    await deleteNamespaces(set);
  }
});

/** Two containers joining the set's namespaces see one another's processes, hostname and network. */
async function assertPodShares(info: NamespaceSetInfo): Promise<void> {
  const joined = (args: string[]): ContainerSpec => {
    const s = defaultSpec({ rootfs, args });
    delete s.hostname;
    const paths: Record<string, string | undefined> = { network: info.paths.net, uts: info.paths.uts, ipc: info.paths.ipc, pid: info.paths.pid };
    s.linux!.namespaces = s.linux!.namespaces!.map((n) => (paths[n.type] !== undefined ? { type: n.type, path: paths[n.type]! } : n));
    return s;
  };
  const first = await launcher.launch(joined(["sleep", "30"]), { onCgroup: (pid) => void pids.push(pid) });
  try {
    const r = await run(joined(["sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '; echo; hostname; for t in net uts ipc pid; do readlink /proc/self/ns/$t; done"]));
    assert.equal(r.code, 0, r.out);
    const [procs, host, net, uts, ipc, pid] = r.out.trim().split("\n");
    // The set's holder is PID 1 of the shared pid namespace; the first container's sleep is there too.
    assert.match(procs!, /sleep 30/);
    assert.match(procs!, /infinity/);
    assert.equal(host, readFileSync(`/proc/${first.pid}/root/proc/sys/kernel/hostname`, "utf8").trim());
    assert.equal(net, readlinkSync(`/proc/${first.pid}/ns/net`));
    assert.equal(net, `net:[${info.inodes.net}]`);
    assert.equal(uts, readlinkSync(`/proc/${first.pid}/ns/uts`));
    assert.equal(ipc, readlinkSync(`/proc/${first.pid}/ns/ipc`));
    assert.equal(pid, `pid:[${info.inodes.pid}]`);
    // The set's network namespace was made with lo up (hostform's Namespace); a joining container leaves it so.
    const lo = await run(joined(["cat", "/sys/class/net/lo/flags"]));
    assert.equal(lo.out.trim(), "0x9", lo.out);
    assert.equal(readlinkSync(`/proc/${first.pid}/ns/pid`), pid);
    assert.notEqual(readlinkSync(`/proc/${first.pid}/ns/mnt`), readlinkSync("/proc/self/ns/mnt"), "each container keeps its own mount namespace");
  } finally {
    await kill(first);
  }
}

test("a cgroup mount (as in `runc spec`) shows the host's hierarchies rooted at the container's cgroup, read-only", { skip: needsRoot }, async () => {
  // A pure cgroup v2 host has one hierarchy at /sys/fs/cgroup itself: the container sees that
  // one, its files at the top, rather than a tmpfs of per-controller directories.
  const pureV2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
  const probe = pureV2 ? "/sys/fs/cgroup/x" : "/sys/fs/cgroup/memory/x";
  const s = spec(["sh", "-c", `ls /sys/fs/cgroup; cat /proc/self/cgroup; touch ${probe} 2>&1; grep ' /sys/fs/cgroup' /proc/self/mountinfo | wc -l`]);
  s.mounts!.push({ destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] });
  const r = await run(s);
  assert.equal(r.code, 0, r.out);
  if (pureV2) {
    assert.match(r.out, /^cgroup\.procs$/m);
    assert.match(r.out, /^0::\/$/m);
    assert.equal(r.out.trim().split("\n").at(-1), "1", "one cgroup2 mount");
  } else {
    // Every v1 hierarchy of the host (a hybrid host's cgroup2 "unified" is left out, as runc does).
    const host = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => / \/sys\/fs\/cgroup\/[^/ ]+ /.test(l) && / - cgroup /.test(l));
    const names = host.map((l) => l.split(" ")[4]!.slice("/sys/fs/cgroup/".length));
    for (const n of names) assert.match(r.out, new RegExp(`^${n}$`, "m"), `hierarchy ${n}`);
    // The cgroup namespace roots every hierarchy at the container's own cgroup.
    assert.match(r.out, /^\d+:[^:\n]*:\/$/m);
  }
  assert.match(r.out, /Read-only file system/);
  // Without a cgroup namespace (runc's default config has none): the container's own cgroup
  // directories are bound there, not the host's hierarchy roots.
  const cg = `${prefix}-cgmount`;
  const cgDir = pureV2 ? `/sys/fs/cgroup/${cg}` : `/sys/fs/cgroup/memory/${cg}`;
  const limitFile = pureV2 ? "memory.max" : "memory.limit_in_bytes";
  const inside = pureV2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";
  mkdirSync(cgDir);
  try {
    const noNs = structuredClone(s);
    noNs.linux!.namespaces = noNs.linux!.namespaces!.filter((n) => n.type !== "cgroup");
    noNs.process.args = ["sh", "-c", `cat ${inside}/${limitFile}; ls ${inside} | grep -c '^hostform' || true`];
    writeFileSync(join(cgDir, limitFile), String(64 * 1024 * 1024));
    const r2 = await run(noNs, undefined, (pid) => writeFileSync(join(cgDir, "cgroup.procs"), String(pid)));
    assert.equal(r2.code, 0, r2.out);
    assert.deepEqual(r2.out.trim().split("\n"), [String(64 * 1024 * 1024), "0"]);
  } finally {
    rmdirSync(cgDir);
  }
});

test("a root mounted on the host after the inits were spawned is seen, by a warm init and a fresh one", { skip: needsRoot }, async () => {
  // Warm: the pool's idle init exists before the mount below.
  await launcher.warm();
  const late = join(bundle, "late-root");
  mkdirSync(late);
  assert.equal(spawnSync("mount", ["-t", "tmpfs", "-o", "size=16m", `${prefix}-late`, late]).status, 0);
  try {
    for (const d of ["bin", "proc", "dev", "sys", "tmp", "etc"]) mkdirSync(join(late, d), { recursive: true });
    copyFileSync(join(rootfs, "bin", "busybox"), join(late, "bin", "busybox"));
    writeFileSync(join(late, "etc", "motd"), "mounted late\n");
    for (let i = 0; i < 2; i++) {
      const r = await run(defaultSpec({ rootfs: late, args: ["/bin/busybox", "cat", "/etc/motd"], hostname: "late" }));
      assert.deepEqual(r, { code: 0, signal: null, out: "mounted late\n" }, `run ${i} (${i === 0 ? "warm init" : "fresh init"})`);
    }
  } finally {
    assert.equal(spawnSync("umount", [late]).status, 0, "the tmpfs is held by nothing the test did not end");
  }
});

test("process.oomScoreAdj reaches the program; lowering it needs CAP_SYS_RESOURCE, as with runc", { skip: needsRoot }, async () => {
  const withAdj = (adj: number): ContainerSpec => {
    const s = spec(["cat", "/proc/self/oom_score_adj"]);
    s.process.oomScoreAdj = adj;
    return validateSpec(s);
  };
  const r = await run(withAdj(700));
  assert.deepEqual({ code: r.code, out: r.out }, { code: 0, out: "700\n" });
  // This sandbox's bounding set lacks CAP_SYS_RESOURCE; where the host has it, the lowered value holds.
  const hasSysResource = (BigInt(`0x${statusField(readFileSync("/proc/self/status", "utf8"), "CapBnd")}`) >> 24n) & 1n;
  if (hasSysResource === 1n) {
    const low = await run(withAdj(-500));
    assert.deepEqual({ code: low.code, out: low.out }, { code: 0, out: "-500\n" });
  } else {
    await assert.rejects(run(withAdj(-500)), (e: unknown) => e instanceof SysError && /process\.oomScoreAdj -500: write \/proc\/\d+\/oom_score_adj/.test(e.message) && e.code === "EACCES");
  }
  assert.throws(() => validateSpec({ ...spec(["true"]), process: { ...spec(["true"]).process, oomScoreAdj: 1001 } }), (e: unknown) => e instanceof ValidationError && e.field === "process.oomScoreAdj");
});

test("tmpcopyup: a tmpfs starts with a copy of the directory it covers (owners, modes, links), and writes stay in the tmpfs", { skip: needsRoot }, async () => {
  const dir = join(rootfs, "copyup");
  mkdirSync(join(dir, "sub"), { recursive: true });
  writeFileSync(join(dir, "a"), "from the image\n");
  spawnSync("chown", ["1000:1001", join(dir, "a")]);
  spawnSync("chmod", ["4750", join(dir, "a")]);
  writeFileSync(join(dir, "sub", "b"), "b\n");
  spawnSync("ln", ["-s", "a", join(dir, "link")]);
  try {
    for (const ro of [false, true]) {
      const s = spec(["sh", "-c", "ls -ln /copyup | awk '{print $1, $3, $4, $NF}'; cat /copyup/link /copyup/sub/b; echo new > /copyup/new && echo wrote; grep ' /copyup ' /proc/self/mounts | cut -d' ' -f3"]);
      s.mounts = [...(s.mounts ?? []), { destination: "/copyup", type: "tmpfs", source: "tmpfs", options: ["nosuid", "tmpcopyup", ...(ro ? ["ro"] : [])] }];
      const r = await run(validateSpec(s));
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /^-rwsr-x--- 1000 1001 a\n/m);
      assert.match(r.out, /^lrwxrwxrwx 0 0 a\n/m);
      assert.match(r.out, /^drwxr-xr-x 0 0 sub\n/m);
      assert.match(r.out, /from the image\nb\n/);
      assert.equal(r.out.includes("wrote"), !ro, r.out);
      assert.match(r.out, /tmpfs\n$/);
      assert.equal(existsSync(join(dir, "new")), false, "the covered directory is unchanged");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

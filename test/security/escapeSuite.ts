// Escape attempts from inside a DEFAULT container: Docker's 14 capabilities, no_new_privs, the
// built-in Docker default seccomp profile, masked and read-only paths, a busybox-static rootfs.
// Each attempt asserts the exact errno (via the raw-syscall probes of syscallProbe.ts) or the exact
// applet message, and, where the attempt aims at the host, that the host is unchanged. The same
// attempts run twice (escape.test.ts, escapeUserns.test.ts): as root of the host, and with userns
// "auto", where each must fail exactly as it does without (issue 16).
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { pidfdSendSignal } from "../../src/sys/libc";
import { DefaultContainers, type DefaultContainersOptions } from "./defaultContainer";
import { hostBusybox } from "./busyboxRoot";
import { NR, writeProbe } from "./syscallProbe";

/** Why the suite cannot run here, or false. */
export function escapeSkip(): string | false {
  return needsRoot || (process.arch !== "x64" && "the syscall probes are x86-64 machine code") || (hostBusybox() === undefined && "busybox-static is not installed");
}

/** Declares the escape tests for containers made with `options`; returns the suite's handle for extra tests. */
export function defineEscapeTests(what: string, options: DefaultContainersOptions, skip: string | false): { containers: () => DefaultContainers } {
  const prefix = testPrefix(what);
  let h: DefaultContainers;

  const EPERM = 1;
  const ESRCH = 3;
  const AF_UNIX = 1;
  const AF_ALG = 38;
  const AF_VSOCK = 40;
  const SOCK_STREAM = 1;
  const SOCK_SEQPACKET = 5;
  const CLONE_NEWUSER = 0x10000000;
  const CLONE_NEWNS = 0x00020000;
  const SIGCHLD = 17;
  const PTRACE_ATTACH = 16;

  /** Host-side marker file a container must not be able to reach. */
  let marker = "";

  before(() => {
    if (skip !== false) return;
    h = new DefaultContainers(prefix, options);
    const bin = join(h.rootfs, "bin");
    // process.pid is the test runner: a host process the container must neither see nor touch.
    writeProbe(join(bin, "probe-kill-host"), NR.kill, [process.pid, 0]);
    writeProbe(join(bin, "probe-kill-self"), NR.kill, [1, 0]);
    writeProbe(join(bin, "probe-ptrace-host"), NR.ptrace, [PTRACE_ATTACH, process.pid, 0, 0]);
    writeProbe(join(bin, "probe-mount"), NR.mount, [0, 0, 0, 0, 0]);
    writeProbe(join(bin, "probe-unshare-user"), NR.unshare, [CLONE_NEWUSER]);
    writeProbe(join(bin, "probe-unshare-mnt"), NR.unshare, [CLONE_NEWNS]);
    writeProbe(join(bin, "probe-clone-user"), NR.clone, [CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0]);
    writeProbe(join(bin, "probe-init-module"), NR.init_module, [0, 0, 0]);
    writeProbe(join(bin, "probe-finit-module"), NR.finit_module, [0, 0, 0]);
    writeProbe(join(bin, "probe-af-unix"), NR.socket, [AF_UNIX, SOCK_STREAM, 0]);
    writeProbe(join(bin, "probe-af-alg"), NR.socket, [AF_ALG, SOCK_SEQPACKET, 0]);
    writeProbe(join(bin, "probe-af-vsock"), NR.socket, [AF_VSOCK, SOCK_STREAM, 0]);
    marker = join("/tmp", `${prefix}-marker`);
    writeFileSync(marker, "host secret\n");
  });

  after(async () => {
    if (marker !== "") rmSync(marker, { force: true });
    await h?.close();
  });

  // Every container a test started is gone, with its cgroup and mounts, by the end of that test.
  afterEach(() => h.assertNothingLeft());

  /** `name=$?` lines of a script's stdout as a map. */
  function codes(stdout: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of stdout.matchAll(/^([\w-]+)=(\d+)$/gm)) out[m[1]!] = Number(m[2]);
    return out;
  }

  test("the probes themselves work: allowed syscalls succeed inside the container", { skip }, async () => {
    // Without this a probe that always failed would make every denial below meaningless.
    const r = await h.sh("probe-kill-self; echo kill=$?; probe-af-unix; echo unix=$?");
    assert.deepEqual(codes(r.stdout), { kill: 0, unix: 0 });
  });

  test("the container runs under Docker's defaults: 14 caps, no_new_privs, a seccomp filter", { skip }, async () => {
    const r = await h.run(["grep", "-E", "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):", "/proc/self/status"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.replace(/\t/g, " "), [
      "CapInh: 0000000000000000", "CapPrm: 00000000a80425fb", "CapEff: 00000000a80425fb",
      "CapBnd: 00000000a80425fb", "CapAmb: 0000000000000000", "NoNewPrivs: 1", "Seccomp: 2", "",
    ].join("\n"));
  });

  test("host processes are invisible and cannot be signalled: kill -0 of the runner's PID is ESRCH", { skip }, async () => {
    const r = await h.sh(`ls /proc | grep '^[0-9]*$' | tr '\\n' ' '; echo; kill -0 ${process.pid}; echo kill=$?; probe-kill-host; echo probe=$?`);
    const [pids] = r.stdout.split("\n");
    // sh (PID 1) and the three pipeline members, nothing else; the runner's PID is far above.
    for (const p of pids!.trim().split(" ")) assert.ok(Number(p) <= 10, `visible pid ${p}`);
    assert.ok(!pids!.split(" ").includes(String(process.pid)));
    assert.equal(r.stderr, `sh: can't kill pid ${process.pid}: No such process\n`);
    assert.deepEqual(codes(r.stdout), { kill: 1, probe: ESRCH });
  });

  test("ptrace of a host process is ESRCH and nsenter cannot reach its namespaces", { skip }, async () => {
    const r = await h.sh(`probe-ptrace-host; echo ptrace=$?; nsenter -t ${process.pid} -m true; echo nsenter=$?`);
    assert.deepEqual(codes(r.stdout), { ptrace: ESRCH, nsenter: 1 });
    assert.equal(r.stderr, `nsenter: can't open '/proc/${process.pid}/ns/mnt': No such file or directory\n`);
  });

  test("mount is EPERM (applet and raw syscall)", { skip }, async () => {
    const r = await h.sh("mount -t tmpfs none /mnt; echo mount=$?; probe-mount; echo probe=$?; grep -c ' /mnt ' /proc/self/mountinfo; echo");
    assert.equal(r.stderr, "mount: permission denied (are you root?)\n");
    assert.deepEqual(codes(r.stdout), { mount: 1, probe: EPERM });
    assert.match(r.stdout, /^0$/m, "nothing got mounted on /mnt");
  });

  test("unshare is EPERM, including a user namespace (unshare and clone)", { skip }, async () => {
    const r = await h.sh("unshare -U true; echo u=$?; unshare -m true; echo m=$?; probe-unshare-user; echo pu=$?; probe-unshare-mnt; echo pm=$?; probe-clone-user; echo pc=$?");
    assert.equal(r.stderr, "unshare: unshare(0x10000000): Operation not permitted\nunshare: unshare(0x20000): Operation not permitted\n");
    assert.deepEqual(codes(r.stdout), { u: 1, m: 1, pu: EPERM, pm: EPERM, pc: EPERM });
  });

  test("loading a kernel module is EPERM (insmod, init_module, finit_module)", { skip }, async () => {
    const r = await h.sh("insmod /bin/busybox; echo insmod=$?; probe-init-module; echo init=$?; probe-finit-module; echo finit=$?");
    assert.equal(r.stderr, "insmod: can't insert '/bin/busybox': Operation not permitted\n");
    assert.deepEqual(codes(r.stdout), { insmod: 1, init: EPERM, finit: EPERM });
  });

  test("/proc/sys and the other read-only paths refuse writes with EROFS; the host value stays", { skip }, async () => {
    const before = readFileSync("/proc/sys/kernel/domainname", "utf8");
    const targets = ["/proc/sys/kernel/domainname", "/proc/sys/vm/drop_caches", "/proc/sysrq-trigger", "/proc/irq/default_smp_affinity"].filter((p) => existsSync(p));
    const r = await h.sh(targets.map((p) => `echo 1 > ${p}`).join("; ") + "; grep -E ' /proc/(sys|bus|fs|irq) ' /proc/self/mountinfo | cut -d' ' -f5,6");
    assert.equal(r.stderr, targets.map((p) => `sh: can't create ${p}: Read-only file system\n`).join(""));
    for (const line of r.stdout.trim().split("\n")) assert.match(line, /^\/proc\/(sys|bus|fs|irq) ro,/, line);
    assert.equal(readFileSync("/proc/sys/kernel/domainname", "utf8"), before);
  });

  test("/proc/kcore and the other masked files are absent or an empty /dev/null; masked dirs are empty", { skip }, async () => {
    const files = ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/latency_stats", "/proc/interrupts"];
    const script = files.map((f) => `if [ -e ${f} ]; then echo "${f} $(stat -c '%F %t,%T' ${f}) $(wc -c < ${f})"; else echo "${f} absent"; fi`).join("; ");
    const r = await h.sh(`${script}; ls -A /sys/firmware /proc/acpi | grep -vc ':$'; echo`);
    assert.equal(r.stderr, "");
    const lines = r.stdout.trim().split("\n");
    files.forEach((f, i) => assert.match(lines[i]!, new RegExp(`^${f} (absent|character special file 1,3 0)$`)));
    // /proc/keys and /proc/timer_list exist on every kernel with keys and timers: they must be masked, not absent.
    assert.equal(lines[1], "/proc/keys character special file 1,3 0");
    // `ls` prints only the two "dir:" headers and a blank line: no entries.
    assert.match(r.stdout, /^1$/m);
  });

  test("/proc/1/root is the container's own root, host files are unreachable, and only fds 0-2 are open", { skip }, async () => {
    const r = await h.sh(`readlink /proc/1/root; ls /proc/1/root | tr '\\n' ' '; echo; cat /proc/1/root${marker} /proc/1/root/../..${marker}; for f in /proc/$$/fd/*; do [ -e "$f" ] && echo "$f"; done`);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines[0], "/");
    assert.deepEqual(lines[1]!.trim().split(" ").sort(), readdirSync(h.rootfs).sort());
    assert.equal(r.stderr, `cat: can't open '/proc/1/root${marker}': No such file or directory\ncat: can't open '/proc/1/root/../..${marker}': No such file or directory\n`);
    // The glob reads the fd directory through a fd of its own, closed (so gone from the list) once
    // expanded; fds 0-2 are open (stdin is the container's /dev/null), nothing above 2 is.
    const fds = lines.slice(2).map((l) => Number(l.replace("/proc/1/fd/", "")));
    assert.deepEqual(fds.filter((fd) => fd > 2), []);
    assert.ok(fds.includes(0) && fds.includes(1) && fds.includes(2), lines.join(","));
    // Seen from the host, the container's PID 1 (a long-running program) holds only stdio too.
    const s = await h.start(h.spec(["sleep", "60"]));
    try {
      assert.deepEqual(readdirSync(`/proc/${s.container.pid}/fd`).filter((fd) => Number(fd) > 2), []);
      pidfdSendSignal(s.container.pidfd, 9);
      await s.container.exited;
    } finally {
      await h.remove(s.cgroup);
    }
  });

  test("stdio the launcher was told to ignore is the container's /dev/null, not a closed fd", { skip }, async () => {
    const s = await h.start(h.spec(["sleep", "60"]), undefined, ["ignore", "ignore", "ignore"]);
    const devNull = statSync("/dev/null").rdev;
    try {
      for (const fd of ["0", "1", "2"]) assert.equal(statSync(`/proc/${s.container.pid}/fd/${fd}`).rdev, devNull, `fd ${fd}`);
    } finally {
      pidfdSendSignal(s.container.pidfd, 9);
      await s.container.exited;
      await h.remove(s.cgroup);
    }
  });

  test("/proc/<pid>/exe of the container's process is the rootfs busybox, never a host binary", { skip }, async () => {
    const r = await h.sh("readlink /proc/1/exe; stat -L -c %i /proc/1/exe");
    const [link, ino] = r.stdout.trim().split("\n");
    assert.equal(link, "/bin/busybox");
    const inRootfs = statSync(join(h.rootfs, "bin", "busybox")).ino;
    assert.equal(Number(ino), inRootfs);
    assert.notEqual(inRootfs, statSync(hostBusybox()!).ino, "the rootfs holds a copy, not the host's file");
    // From the host: the running container's exe is the same rootfs file (not the init's node binary).
    const s = await h.start(h.spec(["sleep", "60"]));
    try {
      assert.equal(statSync(`/proc/${s.container.pid}/exe`).ino, inRootfs);
      assert.equal(readlinkSync(`/proc/${s.container.pid}/exe`), "/bin/busybox");
      pidfdSendSignal(s.container.pidfd, 9);
      await s.container.exited;
    } finally {
      await h.remove(s.cgroup);
    }
  });

  test("changing the hostname is EPERM; the container's name and the host's stay", { skip }, async () => {
    const hostBefore = readFileSync("/proc/sys/kernel/hostname", "utf8");
    const r = await h.sh(`hostname ${prefix.slice(0, 20)}-evil; echo rc=$?; hostname`);
    assert.equal(r.stderr, "hostname: sethostname: Operation not permitted\n");
    assert.equal(r.stdout, `rc=1\n${prefix}\n`);
    assert.equal(readFileSync("/proc/sys/kernel/hostname", "utf8"), hostBefore);
    assert.equal(`${hostname()}\n`, hostBefore);
  });

  test("AF_ALG and AF_VSOCK sockets are EPERM (seccomp), while AF_UNIX works", { skip }, async () => {
    const r = await h.sh("probe-af-alg; echo alg=$?; probe-af-vsock; echo vsock=$?; probe-af-unix; echo unix=$?");
    assert.deepEqual(codes(r.stdout), { alg: EPERM, vsock: EPERM, unix: 0 });
  });

  return { containers: () => h };
  }

import { test, after, afterEach, before } from "node:test";
import assert from "node:assert/strict";
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { Launcher, type LaunchedContainer } from "../../src/runtime/launcher";
import type { ContainerSpec } from "../../src/runtime/spec";
import { defaultSpec } from "../../src/runtime/specgen/defaults";
import { Executor, type ExecOptions, type ExecTarget } from "../../src/runtime/exec";
import { ContainerNotRunningError, readPidStartTime } from "../../src/runtime/execTarget";
import { relayTerminal } from "../../src/runtime/ptyRelay";
import { makeContainerDir, writeState, type ContainerState } from "../../src/runtime/state";
import { execCommand } from "../../src/cli/commands/exec";
import { UsageError } from "../../src/cli/command";
import { openCgroupDriver, type CgroupDriver } from "../../src/cgroup/driver";
import { UnsupportedError, ValidationError } from "../../src/sys/errors";
import { capMask } from "../../src/sys/libc";
import { DOCKER_DEFAULT_CAPABILITIES } from "../../src/sys/constants";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { statusField } from "../helpers/procStatus";
import { assertNoMountsOf, assertProcessesGone } from "../helpers/leftovers";

const prefix = testPrefix("exec");
const APPLETS = ["sh", "true", "cat", "ls", "hostname", "id", "echo", "mkdir", "readlink", "sleep", "grep", "pwd", "tty", "stty", "env"];
let bundle = "";
let rootfs = "";
let launcher: Launcher;
let executor: Executor;
let driver: CgroupDriver;
let cgroupMade = false;
let target: LaunchedContainer;
let targetSpec: ContainerSpec;
/** Host pids of every exec'd process, to prove none is left; the first checkedPids were checked. */
const pids: number[] = [];
let checkedPids = 0;
let outSeq = 0;

/** x86_64 filter: mkdir(83)/mkdirat(258) -> EPERM, everything else allowed. */
function mkdirDenyingFilter(): Buffer {
  const ins = (code: number, jt: number, jf: number, k: number): Buffer => {
    const b = Buffer.alloc(8);
    b.writeUInt16LE(code, 0);
    b.writeUInt8(jt, 2);
    b.writeUInt8(jf, 3);
    b.writeUInt32LE(k >>> 0, 4);
    return b;
  };
  return Buffer.concat([ins(0x20, 0, 0, 0), ins(0x15, 2, 0, 83), ins(0x15, 1, 0, 258), ins(0x06, 0, 0, 0x7fff0000), ins(0x06, 0, 0, 0x00050001)]);
}
const seccompFilter = mkdirDenyingFilter();

function makeRootfs(): void {
  const busybox = ["/bin/busybox", "/usr/bin/busybox"].find((p) => existsSync(p));
  if (busybox === undefined) throw new UnsupportedError("busybox is not installed (apt-get install busybox-static)");
  bundle = mkdtempSync(join(tmpdir(), `${prefix}-`));
  rootfs = join(bundle, "rootfs");
  for (const d of ["bin", "proc", "dev", "sys", "tmp", "etc", "home/alice"]) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(busybox, join(rootfs, "bin", "busybox"));
  for (const a of APPLETS) symlinkSync("busybox", join(rootfs, "bin", a));
  writeFileSync(join(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nalice:x:1001:1002:Alice:/home/alice:/bin/sh\n");
  writeFileSync(join(rootfs, "etc", "group"), "root:x:0:\nalice:x:1002:\nstaff:x:50:alice\n");
}

before(async () => {
  if (needsRoot !== false) return;
  makeRootfs();
  launcher = new Launcher({ poolSize: 0 });
  executor = new Executor();
  driver = openCgroupDriver();
  driver.create(prefix);
  cgroupMade = true;
  targetSpec = defaultSpec({ rootfs, args: ["sleep", "1000"], hostname: prefix.slice(0, 60) });
  targetSpec.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW" };
  target = await launcher.launch(targetSpec, { seccompFilter, onCgroup: (pid) => driver.addProcess(prefix, pid) });
});

after(async () => {
  if (target !== undefined && existsSync(`/proc/${target.pid}`)) {
    process.kill(target.pid, "SIGKILL");
    await target.exited;
  }
  await launcher?.close();
  await executor?.close();
  if (cgroupMade) await driver.delete(prefix);
  if (bundle !== "") rmSync(bundle, { recursive: true, force: true });
});

// No exec'd process or mount outlives the test that made it (a leak fails that test, also run alone),
// and the target's cgroup holds only the target again.
afterEach(async () => {
  const mine = pids.slice(checkedPids);
  checkedPids = pids.length;
  await assertProcessesGone(mine, "exec'd processes left on the host");
  assertNoMountsOf(prefix);
  // Anything else in the container's cgroup came from this test: named, then killed.
  const others = driver.procs(prefix).filter((p) => p !== target.pid);
  await assertProcessesGone(others, "processes left in the container's cgroup besides the target");
});

function execTarget(): ExecTarget {
  return { pid: target.pid, pidStartTime: readPidStartTime(target.pid), spec: targetSpec, seccompFilter };
}

/** Runs a command in the target to completion; returns its exit and its stdout+stderr. */
async function run(opts: ExecOptions, t: ExecTarget = execTarget()): Promise<{ code: number | null; signal: string | null; out: string }> {
  const file = join(bundle, `out-${outSeq++}`);
  const fd = openSync(file, "w+");
  try {
    const p = await executor.exec(t, { stdio: ["ignore", fd, fd], ...opts });
    pids.push(p.pid);
    const exit = await p.exited;
    return { ...exit, out: readFileSync(file, "utf8") };
  } finally {
    closeSync(fd);
  }
}

test("exec joins every namespace of the container, mount included", { skip: needsRoot }, async () => {
  const types = ["net", "mnt", "pid", "uts", "ipc", "cgroup"];
  const r = await run({ args: ["sh", "-c", `hostname; for n in ${types.join(" ")}; do readlink /proc/self/ns/$n; done`] });
  assert.equal(r.code, 0, r.out);
  const [host, ...ns] = r.out.trim().split("\n");
  assert.equal(host, prefix.slice(0, 60));
  assert.deepEqual(ns, types.map((n) => readlinkSync(`/proc/${target.pid}/ns/${n}`)));
  // And these are not the host's.
  assert.notEqual(ns[1], readlinkSync("/proc/self/ns/mnt"));
});

test("exec sees the container's /proc: its PID 1 and none of the host's processes", { skip: needsRoot }, async () => {
  const r = await run({ args: ["sh", "-c", "cat /proc/1/cmdline; echo; ls /proc | grep '^[0-9]' | grep -vx 1 | grep -c . ; echo $$"] });
  assert.equal(r.code, 0, r.out);
  const [cmdline, others, self] = r.out.trim().split("\n");
  assert.equal(cmdline, "sleep\u00001000\u0000");
  // sh and the pipeline's processes; never the host's hundreds.
  assert.ok(Number(others) <= 5, `processes besides pid 1: ${others}`);
  // Numbered in the container's PID namespace, which counts from 1 (the host's pids run in the thousands).
  assert.ok(Number(self) > 1 && Number(self) < 300, `own pid in the container: ${self}`);
});

test("exec has the container's caps, no_new_privs and seccomp filter", { skip: needsRoot || (process.arch !== "x64" && "x86_64 filter") }, async () => {
  const r = await run({ args: ["sh", "-c", "cat /proc/self/status; mkdir /tmp/x 2>&1; echo mkdir=$?"] });
  assert.equal(r.code, 0, r.out);
  const caps = capMask(DOCKER_DEFAULT_CAPABILITIES).toString(16).padStart(16, "0");
  assert.equal(statusField(r.out, "CapEff"), caps);
  assert.equal(statusField(r.out, "CapBnd"), caps);
  assert.equal(statusField(r.out, "CapInh"), "0000000000000000");
  assert.equal(statusField(r.out, "NoNewPrivs"), "1");
  assert.equal(statusField(r.out, "Seccomp"), "2");
  assert.equal(statusField(r.out, "SigIgn"), "0000000000000000");
  assert.match(r.out, /Operation not permitted/);
  assert.equal(existsSync(join(rootfs, "tmp", "x")), false);
});

test("exec lives in the container's cgroups", { skip: needsRoot }, async () => {
  const r = await run({ args: ["sh", "-c", "cat /proc/self/cgroup; echo ---; cat /proc/1/cgroup"] });
  assert.equal(r.code, 0, r.out);
  const [mine, its] = r.out.split("---\n");
  assert.equal(mine, its);
  // Seen from the host too, while it runs, and placed before the program started.
  const p = await executor.exec(execTarget(), { args: ["sleep", "30"] });
  pids.push(p.pid);
  try {
    assert.equal(readFileSync(`/proc/${p.pid}/cgroup`, "utf8"), readFileSync(`/proc/${target.pid}/cgroup`, "utf8"));
    assert.ok(driver.procs(prefix).includes(p.pid), "listed in the container's cgroup");
  } finally {
    p.kill("SIGKILL");
    assert.deepEqual(await p.exited, { code: null, signal: "SIGKILL" });
  }
});

test("the exit code propagates", { skip: needsRoot }, async () => {
  assert.equal((await run({ args: ["sh", "-c", "exit 7"] })).code, 7);
  assert.equal((await run({ args: ["true"] })).code, 0);
});

test("user: numeric override, a name from the container's passwd, and an unknown name", { skip: needsRoot }, async () => {
  const numeric = await run({ args: ["id"], user: "1000:1000" });
  assert.equal(numeric.out.trim().replace(/ groups=.*/, ""), "uid=1000 gid=1000");
  const named = await run({ args: ["cat", "/proc/self/status"], user: "alice" });
  assert.match(statusField(named.out, "Uid"), /^1001\s+1001\s+1001\s+1001$/);
  assert.match(statusField(named.out, "Gid"), /^1002\s+1002\s+1002\s+1002$/);
  assert.equal(statusField(named.out, "Groups"), "50");
  assert.equal(statusField(named.out, "CapEff"), "0000000000000000");
  const byGroup = await run({ args: ["id", "-g"], user: "alice:staff" });
  assert.equal(byGroup.out.trim(), "50");
  await assert.rejects(
    executor.exec(execTarget(), { args: ["id"], user: "mallory" }),
    (e: unknown) => e instanceof ValidationError && e.field === "user" && /'mallory' is not in the container's \/etc\/passwd/.test(e.message),
  );
  await assert.rejects(executor.exec(execTarget(), { args: ["id"], user: "alice:nogroup" }), (e: unknown) => e instanceof ValidationError && /group 'nogroup'/.test(e.message));
});

test("env is the spec's plus the exec's; cwd is honoured", { skip: needsRoot }, async () => {
  const r = await run({ args: ["sh", "-c", "echo $FOO; echo $PATH; pwd"], env: ["FOO=bar"], cwd: "/tmp" });
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(r.out.trim().split("\n"), ["bar", targetSpec.process.env![0]!.slice(5), "/tmp"]);
  const over = await run({ args: ["sh", "-c", "echo $PATH"], env: ["PATH=/bin"] });
  assert.equal(over.out.trim(), "/bin");
});

test("a tty exec gets a terminal of the container's devpts, sized and resizable", { skip: needsRoot }, async () => {
  const p = await executor.exec(execTarget(), { args: ["sh", "-c", "tty; stty size; read x; stty size"], tty: true, ttySize: { rows: 33, cols: 101 } });
  pids.push(p.pid);
  assert.ok(p.terminal !== undefined);
  assert.match(p.terminal.name, /^\/dev\/pts\/\d+$/);
  // Drive it as a user would: through the relay, from a fake terminal.
  const input = new PassThrough();
  let out = "";
  const output = new Writable({ write(chunk: Buffer, _enc, cb) { out += chunk.toString(); cb(); } });
  const relay = relayTerminal(p.terminal.master, { input, output });
  try {
    for (let i = 0; i < 200 && !out.includes("33 101"); i++) await new Promise((r) => setTimeout(r, 10));
    p.terminal.resize({ rows: 40, cols: 120 });
    input.write("go\r");
    const exit = await p.exited;
    await relay.done;
    assert.equal(exit.code, 0, out);
    const lines = out.split("\r\n");
    assert.equal(lines[0], p.terminal.name);
    assert.equal(lines[1], "33 101");
    assert.ok(lines.includes("40 120"), out);
  } finally {
    relay.stop();
  }
});

test("a missing program, a bad option and a dead or reused pid are clear errors", { skip: needsRoot }, async () => {
  await assert.rejects(executor.exec(execTarget(), { args: ["no-such-program"] }), (e: unknown) => e instanceof ValidationError && e.field === "process.args[0]");
  await assert.rejects(executor.exec(execTarget(), { args: [] }), (e: unknown) => e instanceof ValidationError && e.field === "args");
  await assert.rejects(executor.exec(execTarget(), { args: ["true"], cwd: "tmp" }), (e: unknown) => e instanceof ValidationError && e.field === "cwd");
  await assert.rejects(executor.exec({ ...execTarget(), seccompFilter: undefined } as ExecTarget, { args: ["true"] }), (e: unknown) => e instanceof ValidationError && e.field === "seccompFilter");
  await assert.rejects(executor.exec({ ...execTarget(), pidStartTime: 1 }, { args: ["true"] }), (e: unknown) => e instanceof ContainerNotRunningError && /belongs to another process/.test(e.message));

  const spec = defaultSpec({ rootfs, args: ["sleep", "1000"], hostname: "dead" });
  const c = await launcher.launch(spec, {});
  pids.push(c.pid);
  try {
    const t: ExecTarget = { pid: c.pid, pidStartTime: readPidStartTime(c.pid), spec, cgroupPaths: [] };
    assert.equal((await run({ args: ["true"] }, t)).code, 0);
    process.kill(c.pid, "SIGKILL");
    await c.exited;
    await assert.rejects(executor.exec(t, { args: ["true"] }), (e: unknown) => e instanceof ContainerNotRunningError && /container is not running/.test(e.message));
  } finally {
    if (existsSync(`/proc/${c.pid}`)) process.kill(c.pid, "SIGKILL");
    await c.exited;
  }
});

test("hostform exec finds the container by id in its state file and returns the program's exit code", { skip: needsRoot }, async () => {
  const saved = process.env.HOSTFORM_RUN_DIR;
  process.env.HOSTFORM_RUN_DIR = join(bundle, "run");
  const seccompPath = join(bundle, "seccomp.bpf");
  writeFileSync(seccompPath, seccompFilter);
  const id = "exec-cli";
  try {
    makeContainerDir(id);
    const state: ContainerState = {
      ociVersion: "1.0.2", id, status: "running", pid: target.pid, bundle, annotations: {}, pidStartTime: readPidStartTime(target.pid),
      created: new Date().toISOString(), exitCode: null, signal: null, restartCount: 0, restartPolicy: "no", stopSignal: "SIGTERM",
      stopTimeout: 10, cgroup: prefix, ownsCgroup: false, logPath: join(bundle, "log"), logMaxBytes: 1 << 20, logFiles: 1, stdio: "log",
      spec: targetSpec, seccompPath,
    };
    writeState(state);
    // The program writes nothing: its stdout is the test runner's.
    const script = '[ "$(hostname)" = "$H" ] && [ "$(pwd)" = /tmp ] && [ "$(id -u)" = 1001 ] && exit 7';
    assert.equal(await execCommand.run(["-e", `H=${prefix.slice(0, 60)}`, "-w", "/tmp", "-u", "alice", id, "--", "sh", "-c", script]), 7);
    await assert.rejects(execCommand.run(["no-such-container", "--", "true"]), (e: unknown) => e instanceof ValidationError && e.field === "container");
    await assert.rejects(execCommand.run([id]), UsageError);
    writeState({ ...state, status: "stopped" });
    await assert.rejects(execCommand.run([id, "--", "true"]), /container is not running.*exec-cli is stopped/);
  } finally {
    if (saved === undefined) delete process.env.HOSTFORM_RUN_DIR;
    else process.env.HOSTFORM_RUN_DIR = saved;
  }
});

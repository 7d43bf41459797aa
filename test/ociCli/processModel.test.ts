// runc's process model, checked on hostform-runtime and on runc itself with the same bundle and
// commands (runc is the reference): create leaves the init behind, re-parented to the caller's
// child subreaper (this test process plays conmon or containerd's shim) and waiting for start;
// the subreaper reaps the program with its real exit status; `run` is the program's parent and
// exits with its status; fds are passed as runc passes them; kill, pause and delete answer with
// runc's words.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { makeBusyboxBundle } from "../../fixtures/busyboxRootfs";
import { RUNC_SPEC_CONFIG } from "../../fixtures/runcSpec";
import * as libc from "../../src/sys/libc";
import { PR_SET_CHILD_SUBREAPER } from "../../src/sys/constants";
import { detectLayout } from "../../src/cgroup/layout";
import { removeCgroupTrees } from "../../fixtures/ociClients/cgroupTrees";
import { readProcStat } from "../../src/ns/procStat";
import { acceptUnix, listenUnix, recvFd } from "../../src/sys/unixSocket";
import { ReadStream } from "node:tty";

const hasRunc = spawnSync("runc", ["--version"]).status === 0;
const prefix = testPrefix("ocipm");
const HOSTFORM_RUNTIME = join(__dirname, "..", "..", "..", "bin", "hostform-runtime");
let bundle = "";
let rootfsDir = "";
let work = "";

interface Runtime {
  name: "hostform" | "runc";
  argv: string[];
}
const runtimes: Runtime[] = [];

before(() => {
  if (needsRoot !== false) return;
  const b = makeBusyboxBundle(prefix);
  bundle = b.bundle;
  rootfsDir = b.rootfs;
  work = join(bundle, "work");
  mkdirSync(work);
  // Orphans of this process's children come here, as to conmon: create's init once create exits.
  libc.prctl(PR_SET_CHILD_SUBREAPER, 1);
  runtimes.push({ name: "hostform", argv: [process.execPath, HOSTFORM_RUNTIME, "--root", join(work, "hostform-root")] });
  if (hasRunc) runtimes.push({ name: "runc", argv: ["runc", "--root", join(work, "runc-root")] });
});

after(() => {
  if (bundle === "") return;
  for (const rt of runtimes) {
    for (const id of ids) spawnSync(rt.argv[0]!, [...rt.argv.slice(1), "delete", "--force", id], { stdio: "ignore" });
  }
  // The cgroupsPath parent goes from every hierarchy, named ones too: runc makes it in name=systemd as well.
  const left = removeCgroupTrees([`/${prefix}`]);
  rmSync(bundle, { recursive: true, force: true });
  assert.deepEqual(left, [], "cgroups left behind");
});

const ids = new Set<string>();

type Config = { process: { terminal: boolean; args: string[] }; root: { path: string; readonly?: boolean }; linux: Record<string, unknown>; hooks?: unknown };

interface ConfigOptions {
  terminal?: boolean;
  /** The container's cgroup under the test's parent (default: a name from the argument count). */
  cgroup?: string;
  hooks?: unknown;
}

/** The bundle's config.json: `runc spec`'s, running `args`. */
function writeConfig(args: string[], options: ConfigOptions = {}): void {
  const c = JSON.parse(JSON.stringify(RUNC_SPEC_CONFIG)) as Config;
  c.process.terminal = options.terminal ?? false;
  c.process.args = args;
  // Absolute, under a parent this test makes and removes: never the runtime's own cgroup.
  c.linux.cgroupsPath = `/${prefix}/${options.cgroup ?? args.length}`;
  if (options.hooks !== undefined) c.hooks = options.hooks;
  // Programs tell the test they run through a file in /tmp.
  c.root.readonly = false;
  writeFileSync(join(bundle, "config.json"), JSON.stringify(c));
}

/** One runtime command to completion; output through files (the init keeps create's stdio, as runc's does). */
function rt(r: Runtime, args: string[], extraFds: number[] = [], env: NodeJS.ProcessEnv = process.env): { code: number; out: string; err: string } {
  const outPath = join(work, `${r.name}.out`);
  const errPath = join(work, `${r.name}.err`);
  const out = openSync(outPath, "w+");
  const err = openSync(errPath, "w+");
  try {
    const res = spawnSync(r.argv[0]!, [...r.argv.slice(1), ...args], { stdio: ["ignore", out, err, ...extraFds], env, timeout: 120_000 });
    return { code: res.status ?? -1, out: readFileSync(outPath, "utf8"), err: readFileSync(errPath, "utf8") };
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

/**
 * Reaps a child this process inherited as subreaper; polls, so the event loop keeps running. The
 * timeouts here are generous: the v2 VM under TCG takes seconds for each runtime call.
 */
async function reap(pid: number, timeoutMs = 60_000): Promise<libc.ReapedStatus> {
  const pidfd = libc.pidfdOpen(pid);
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = libc.reapPidfd(pidfd, { noHang: true });
      if (s !== undefined) return s;
      if (Date.now() > deadline) throw new Error(`pid ${pid} did not exit in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    closeSync(pidfd);
  }
}

function stateOf(r: Runtime, id: string): { status: string; pid: number } {
  const res = rt(r, ["state", id]);
  assert.equal(res.code, 0, `${r.name} state: ${res.err}`);
  return JSON.parse(res.out) as { status: string; pid: number };
}

/** What one runtime shows over a create/start/exit/delete life, to compare with runc's. */
async function lifecycle(r: Runtime): Promise<Record<string, unknown>> {
  const id = `${prefix}-life-${r.name}`;
  ids.add(id);
  // It runs until the test lets it go: a slow machine (the v2 VM under TCG) must not see it end early.
  const go = join(rootfsDir, "tmp", `go-${r.name}`);
  rmSync(go, { force: true });
  writeConfig(["sh", "-c", `while [ ! -e /tmp/go-${r.name} ]; do sleep 0.05; done; exit 3`]);
  const pidFile = join(work, `${r.name}.pid`);
  const seen: Record<string, unknown> = {};
  let res = rt(r, ["create", "--bundle", bundle, "--pid-file", pidFile, id]);
  seen.create = res.code;
  assert.equal(res.code, 0, `${r.name} create: ${res.err}`);
  const pid = Number(readFileSync(pidFile, "utf8"));
  const stat = readProcStat(pid)!;
  seen.parentIsSubreaper = stat.ppid === process.pid;
  seen.sessionLeader = readFileSync(`/proc/${pid}/stat`, "utf8").slice(readFileSync(`/proc/${pid}/stat`, "utf8").lastIndexOf(")") + 2).split(" ")[3] === String(pid);
  const st = stateOf(r, id);
  seen.created = { status: st.status, pidMatches: st.pid === pid };
  seen.startTwice = [rt(r, ["start", id]).code, rt(r, ["start", id]).code];
  seen.running = stateOf(r, id).status;
  writeFileSync(go, "");
  // The subreaper gets the program's own status: nobody of the runtime's is in between.
  seen.exit = await reap(pid);
  const stopped = stateOf(r, id);
  seen.stopped = { status: stopped.status, pid: stopped.pid };
  res = rt(r, ["kill", id, "9"]);
  seen.killStopped = { code: res.code, notRunning: /container not running/.test(res.err) };
  seen.delete = rt(r, ["delete", id]).code;
  res = rt(r, ["delete", id]);
  seen.deleteAgain = { code: res.code, doesNotExist: /does not exist/.test(res.err) };
  seen.deleteForceMissing = rt(r, ["delete", "--force", id]).code;
  return seen;
}

test("create leaves the init to the caller's subreaper, waiting; start execs it; the subreaper reaps its exit status; state, kill and delete answer as runc's", { skip: needsRoot, timeout: 300_000 }, async () => {
  const got: Record<string, Record<string, unknown>> = {};
  for (const r of runtimes) got[r.name] = await lifecycle(r);
  assert.deepEqual(got.hostform, {
    create: 0, parentIsSubreaper: true, sessionLeader: true, created: { status: "created", pidMatches: true }, startTwice: [0, 1], running: "running",
    exit: { code: 3, signal: null }, stopped: { status: "stopped", pid: 0 }, killStopped: { code: 1, notRunning: true }, delete: 0,
    deleteAgain: { code: 1, doesNotExist: true }, deleteForceMissing: 0,
  });
  if (got.runc !== undefined) assert.deepEqual(got.hostform, got.runc, "the same as runc");
});

/** `run` in the foreground: its exit status, with what is done to it while the program runs. */
async function runStatus(r: Runtime, args: string[], during?: (runPid: number, initPid: () => number) => void): Promise<number | null> {
  const id = `${prefix}-run-${r.name}`;
  ids.add(id);
  rmSync(join(rootfsDir, "tmp", "running"), { force: true });
  writeConfig(args);
  const pidFile = join(work, `${r.name}-run.pid`);
  rmSync(pidFile, { force: true });
  const child = spawn(r.argv[0]!, [...r.argv.slice(1), "run", "--bundle", bundle, "--pid-file", pidFile, id], { stdio: "ignore" });
  const exited = new Promise<number | null>((res) => child.once("exit", (code, sig) => res(code ?? (sig !== null ? -1 : null))));
  if (during !== undefined) {
    // The program says it runs (its trap set) by a file in the rootfs' /tmp: no guess at how long
    // a start takes, which the v2 VM under TCG stretches to seconds.
    const ready = join(rootfsDir, "tmp", "running");
    const deadline = Date.now() + 120_000;
    // And the pid file: runc's run writes it only after the program has started.
    while (!(existsSync(ready) && existsSync(pidFile)) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    during(child.pid!, () => Number(readFileSync(pidFile, "utf8")));
  }
  return exited;
}

test("run is the program's parent: it exits with the program's code, 128+signal when it is killed, and forwards the signals it gets", { skip: needsRoot, timeout: 300_000 }, async () => {
  const got: Record<string, unknown[]> = {};
  for (const r of runtimes) {
    got[r.name] = [
      await runStatus(r, ["sh", "-c", "exit 42"]),
      await runStatus(r, ["sh", "-c", "touch /tmp/running; exec sleep 100"], (_run, init) => process.kill(init(), "SIGKILL")),
      await runStatus(r, ["sh", "-c", "trap 'exit 7' TERM; touch /tmp/running; while true; do sleep 0.1; done"], (run) => process.kill(run, "SIGTERM")),
    ];
  }
  assert.deepEqual(got.hostform, [42, 137, 7]);
  if (got.runc !== undefined) assert.deepEqual(got.hostform, got.runc, "the same as runc");
});

test("--preserve-fds passes fds 3.. at their numbers; LISTEN_FDS for this process adds them first with LISTEN_PID=1, as runc does", { skip: needsRoot, timeout: 300_000 }, async () => {
  const a = join(work, "fd-a");
  const b = join(work, "fd-b");
  writeFileSync(a, "A");
  writeFileSync(b, "B");
  const got: Record<string, unknown> = {};
  for (const r of runtimes) {
    const id = `${prefix}-fds-${r.name}`;
    ids.add(id);
    writeConfig(["sh", "-c", "cat <&3; cat <&4 2>/dev/null; echo; echo ${LISTEN_FDS:-none} ${LISTEN_PID:-none}"]);
    // Fresh opens per run: the runs share the open file's offset, and cat reads to the end.
    const withFds = (argv: Runtime, args: string[]) => {
      const fa = openSync(a, "r");
      const fb = openSync(b, "r");
      try {
        const res = rt(argv, args, [fa, fb]);
        return [res.code, res.out.trim()];
      } finally {
        closeSync(fa);
        closeSync(fb);
      }
    };
    // Socket activation as systemd hands it over: LISTEN_PID is the runtime's own pid.
    const activated: Runtime = { name: r.name, argv: ["sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"', "sh", ...r.argv] };
    const seen: Record<string, unknown> = {
      two: withFds(r, ["run", "--preserve-fds", "2", "--bundle", bundle, id]),
      none: withFds(r, ["run", "--bundle", bundle, id]),
      listen: withFds(activated, ["run", "--preserve-fds", "1", "--bundle", bundle, id]),
    };
    // exec passes --preserve-fds the same way; LISTEN_FDS is the start's alone (runc's exec ignores it).
    writeConfig(["sleep", "100"]);
    const pidFile = join(work, `${r.name}-fds.pid`);
    assert.equal(rt(r, ["run", "-d", "--bundle", bundle, "--pid-file", pidFile, id]).code, 0);
    const show = ["sh", "-c", "cat <&3; cat <&4 2>/dev/null; echo; echo ${LISTEN_FDS:-none} ${LISTEN_PID:-none}"];
    seen.exec = withFds(r, ["exec", "--preserve-fds", "2", id, ...show]);
    seen.execListen = withFds(activated, ["exec", "--preserve-fds", "1", id, ...show]);
    assert.equal(rt(r, ["delete", "--force", id]).code, 0);
    await reap(Number(readFileSync(pidFile, "utf8")));
    got[r.name] = seen;
  }
  assert.deepEqual(got.hostform, { two: [0, "AB\nnone none"], none: [0, "none none"], listen: [0, "AB\n1 1"], exec: [0, "AB\nnone none"], execListen: [0, "A\nnone none"] });
  if (got.runc !== undefined) assert.deepEqual(got.hostform, got.runc, "the same as runc");
});

test("pause and resume freeze the container (state paused); kill --all signals every process; a live container needs delete --force", { skip: needsRoot, timeout: 300_000 }, async () => {
  const got: Record<string, unknown> = {};
  for (const r of runtimes) {
    const id = `${prefix}-pause-${r.name}`;
    ids.add(id);
    writeConfig(["sh", "-c", "sleep 100 & sleep 100"]);
    const pidFile = join(work, `${r.name}-pause.pid`);
    assert.equal(rt(r, ["run", "-d", "--bundle", bundle, "--pid-file", pidFile, id]).code, 0);
    const pid = Number(readFileSync(pidFile, "utf8"));
    const seen: Record<string, unknown> = {};
    seen.pause = rt(r, ["pause", id]).code;
    seen.paused = stateOf(r, id).status;
    seen.resume = rt(r, ["resume", id]).code;
    seen.resumed = stateOf(r, id).status;
    const del = rt(r, ["delete", id]);
    seen.deleteLive = { code: del.code, notStopped: /not stopped/.test(del.err) };
    seen.killAll = rt(r, ["kill", "--all", id, "KILL"]).code;
    seen.exit = await reap(pid);
    seen.stopped = stateOf(r, id).status;
    seen.delete = rt(r, ["delete", id]).code;
    seen.cgroupGone = !existsSync(join(detectLayout().v1Mounts.pids ?? detectLayout().unifiedMount!, prefix, "1"));
    got[r.name] = seen;
  }
  assert.deepEqual(got.hostform, {
    pause: 0, paused: "paused", resume: 0, resumed: "running", deleteLive: { code: 1, notStopped: true }, killAll: 0, exit: { code: null, signal: 9 }, stopped: "stopped", delete: 0, cgroupGone: true,
  });
  if (got.runc !== undefined) assert.deepEqual(got.hostform, got.runc, "the same as runc");
});

test("exec runs --process or a command in the container with its status; -d leaves it to the subreaper; ps lists the container's pids", { skip: needsRoot, timeout: 300_000 }, async () => {
  const processFile = join(work, "process.json");
  writeFileSync(processFile, JSON.stringify({ terminal: false, user: { uid: 0, gid: 0 }, args: ["sh", "-c", "echo in-exec $FOO; exit 4"], env: ["PATH=/bin", "FOO=bar"], cwd: "/" }));
  const got: Record<string, unknown> = {};
  for (const r of runtimes) {
    const id = `${prefix}-exec-${r.name}`;
    ids.add(id);
    writeConfig(["sleep", "100"]);
    const initPidFile = join(work, `${r.name}-exec-init.pid`);
    assert.equal(rt(r, ["run", "-d", "--bundle", bundle, "--pid-file", initPidFile, id]).code, 0);
    const initPid = Number(readFileSync(initPidFile, "utf8"));
    const seen: Record<string, unknown> = {};
    const p = rt(r, ["exec", "--process", processFile, id]);
    seen.process = [p.code, p.out.trim()];
    const c = rt(r, ["exec", "--env", "X=1", "--user", "1000:1000", "--cwd", "/bin", id, "sh", "-c", "pwd; echo $X; id -u; grep CapEff /proc/self/status"]);
    seen.command = [c.code, c.out.trim()];
    const pidFile = join(work, `${r.name}-exec.pid`);
    const go = join(rootfsDir, "tmp", `go-exec-${r.name}`);
    rmSync(go, { force: true });
    seen.detach = rt(r, ["exec", "-d", "--pid-file", pidFile, id, "sh", "-c", `while [ ! -e /tmp/go-exec-${r.name} ]; do sleep 0.05; done; exit 5`]).code;
    const pid = Number(readFileSync(pidFile, "utf8"));
    seen.detachedParent = readProcStat(pid)?.ppid === process.pid;
    const ps = rt(r, ["ps", "--format", "json", id]);
    const listed = JSON.parse(ps.out) as number[];
    // The exec'd shell may have forked its sleep by now: both pids are there, whatever else is.
    seen.ps = listed.includes(initPid) && listed.includes(pid);
    writeFileSync(go, "");
    seen.detachedExit = await reap(pid);
    assert.equal(rt(r, ["delete", "--force", id]).code, 0);
    await reap(initPid);
    got[r.name] = seen;
  }
  assert.deepEqual(got.hostform, {
    process: [4, "in-exec bar"], command: [0, "/bin\n1\n1000\nCapEff:\t0000000000000000"], detach: 0, detachedParent: true, ps: true, detachedExit: { code: 5, signal: null },
  });
  if (got.runc !== undefined) assert.deepEqual(got.hostform, got.runc, "the same as runc");
});

/** What the terminal shows until the program closes its last slave fd (EIO on the master). */
function readTerminal(master: number): Promise<string> {
  const pty = new ReadStream(master);
  let out = "";
  return new Promise((resolve, reject) => {
    const done = (): void => {
      pty.destroy();
      resolve(out);
    };
    pty.on("data", (chunk: Buffer) => (out += chunk.toString()));
    pty.on("error", (err: NodeJS.ErrnoException) => (err.code === "EIO" ? done() : reject(err)));
    pty.on("end", done);
  });
}

/** Listens on a socket path, runs `during`, then takes the one message a runtime sends. */
function receiveConsole(path: string, during: () => void): { data: string; fd: number } {
  rmSync(path, { force: true });
  const listener = listenUnix(path);
  try {
    during();
    const conn = acceptUnix(listener);
    try {
      return recvFd(conn);
    } finally {
      closeSync(conn);
    }
  } finally {
    closeSync(listener);
    rmSync(path, { force: true });
  }
}

test("--console-socket: create and exec -d --tty send the terminal's master as runc does, and the program's output comes through it", { skip: needsRoot, timeout: 300_000 }, async () => {
  const got: Record<string, unknown> = {};
  for (const r of runtimes) {
    const id = `${prefix}-tty-${r.name}`;
    ids.add(id);
    const seen: Record<string, unknown> = {};
    writeConfig(["sh", "-c", "tty; sleep 100"], { terminal: true });
    const sock = join(work, `${r.name}.sock`);
    const pidFile = join(work, `${r.name}-tty.pid`);
    const created = receiveConsole(sock, () => assert.equal(rt(r, ["create", "--console-socket", sock, "--pid-file", pidFile, "--bundle", bundle, id]).code, 0));
    const initPid = Number(readFileSync(pidFile, "utf8"));
    const initOut = readTerminal(created.fd);
    assert.equal(rt(r, ["start", id]).code, 0);
    const execPidFile = join(work, `${r.name}-tty-exec.pid`);
    const exec = receiveConsole(sock, () => assert.equal(rt(r, ["exec", "-d", "--tty", "--console-socket", sock, "--pid-file", execPidFile, id, "sh", "-c", "tty; exit 4"]).code, 0));
    seen.exec = [exec.data, (await readTerminal(exec.fd)).trim()];
    seen.execExit = await reap(Number(readFileSync(execPidFile, "utf8")));
    assert.equal(rt(r, ["kill", id, "KILL"]).code, 0);
    seen.create = [created.data, (await initOut).trim()];
    seen.exit = await reap(initPid);
    assert.equal(rt(r, ["delete", id]).code, 0);
    got[r.name] = seen;
  }
  assert.deepEqual(got.hostform, { exec: ["/dev/ptmx", "/dev/pts/1"], execExit: { code: 4, signal: null }, create: ["/dev/ptmx", "/dev/pts/0"], exit: { code: null, signal: 9 } });
  if (got.runc !== undefined) assert.deepEqual(got.hostform, got.runc, "the same as runc");
});

test("a detached program that exits at once is still the subreaper's to reap, with its status (run -d, exec -d)", { skip: needsRoot, timeout: 300_000 }, async () => {
  const got: Record<string, unknown> = {};
  for (const r of runtimes) {
    const id = `${prefix}-quick-${r.name}`;
    ids.add(id);
    writeConfig(["sh", "-c", "exit 6"]);
    const pidFile = join(work, `${r.name}-quick.pid`);
    assert.equal(rt(r, ["run", "-d", "--bundle", bundle, "--pid-file", pidFile, id]).code, 0);
    const run = await reap(Number(readFileSync(pidFile, "utf8")));
    assert.equal(rt(r, ["delete", id]).code, 0);
    writeConfig(["sleep", "100"]);
    assert.equal(rt(r, ["run", "-d", "--bundle", bundle, "--pid-file", pidFile, id]).code, 0);
    const initPid = Number(readFileSync(pidFile, "utf8"));
    const execPidFile = join(work, `${r.name}-quick-exec.pid`);
    assert.equal(rt(r, ["exec", "-d", "--pid-file", execPidFile, id, "sh", "-c", "exit 5"]).code, 0);
    const exec = await reap(Number(readFileSync(execPidFile, "utf8")));
    assert.equal(rt(r, ["delete", "--force", id]).code, 0);
    await reap(initPid);
    got[r.name] = { run, exec };
  }
  assert.deepEqual(got.hostform, { run: { code: 6, signal: null }, exec: { code: 5, signal: null } });
  if (got.runc !== undefined) assert.deepEqual(got.hostform, got.runc, "the same as runc");
});

test("hooks run in runc's order with the OCI state on stdin: prestart, createRuntime, createContainer at create; poststart at start; poststop at delete", { skip: needsRoot, timeout: 300_000 }, async () => {
  const got: Record<string, string[]> = {};
  for (const r of runtimes) {
    const id = `${prefix}-hooks-${r.name}`;
    ids.add(id);
    const log = join(work, `${r.name}-hooks.log`);
    rmSync(log, { force: true });
    const hook = (phase: string) => ({ path: "/bin/sh", args: ["sh", "-c", `echo ${phase} $(/bin/cat) >> ${log}`] });
    writeConfig(["sleep", "100"], { cgroup: "hooks", hooks: Object.fromEntries(["prestart", "createRuntime", "createContainer", "poststart", "poststop"].map((p) => [p, [hook(p)]])) });
    const pidFile = join(work, `${r.name}-hooks.pid`);
    assert.equal(rt(r, ["create", "--bundle", bundle, "--pid-file", pidFile, id]).code, 0);
    const pid = Number(readFileSync(pidFile, "utf8"));
    assert.equal(rt(r, ["start", id]).code, 0);
    assert.equal(rt(r, ["delete", "--force", id]).code, 0);
    await reap(pid);
    // phase, status, whether pid is the init's (host pid) or 1 (seen from inside), id and bundle.
    got[r.name] = readFileSync(log, "utf8").trim().split("\n").map((line) => {
      const [phase, ...rest] = line.split(" ");
      const s = JSON.parse(rest.join(" ")) as { status: string; pid?: number; id: string; bundle: string };
      return `${phase} ${s.status} ${s.pid === pid ? "init" : s.pid === 1 ? "1" : String(s.pid)} ${s.id === id} ${s.bundle === bundle}`;
    });
  }
  assert.deepEqual(got.hostform?.map((l) => l.split(" ")[0]), ["prestart", "createRuntime", "createContainer", "poststart", "poststop"]);
  if (got.runc !== undefined) assert.deepEqual(got.hostform, got.runc, "the same as runc");
});

test("a failing createRuntime hook fails create, naming the hook, and leaves no container, cgroup or process", { skip: needsRoot, timeout: 300_000 }, () => {
  const got: Record<string, unknown> = {};
  for (const r of runtimes) {
    const id = `${prefix}-badhook-${r.name}`;
    ids.add(id);
    writeConfig(["sleep", "100"], { cgroup: "badhook", hooks: { createRuntime: [{ path: "/bin/sh", args: ["sh", "-c", "echo no-way >&2; exit 3"] }] } });
    const res = rt(r, ["create", "--bundle", bundle, id]);
    const state = rt(r, ["state", id]);
    got[r.name] = { code: res.code, stateCode: state.code, cgroup: existsSync(join(detectLayout().v1Mounts.pids ?? detectLayout().unifiedMount!, prefix, "badhook")) };
    if (r.name === "hostform") assert.match(res.err, /createRuntime hook 0 \(\/bin\/sh\) exited with status 3.*no-way/s);
  }
  assert.deepEqual(got.hostform, { code: 1, stateCode: 1, cgroup: false });
  if (got.runc !== undefined) assert.deepEqual(got.hostform, got.runc, "the same as runc");
});

test("a create killed half-way leaves what delete --force can clean: its waiting init and its cgroup go too", { skip: needsRoot, timeout: 300_000 }, async () => {
  const r = runtimes[0]!;
  const id = `${prefix}-killed-${r.name}`;
  ids.add(id);
  // The init waits before pivot_root while this hook runs: create is caught in the middle.
  const marker = join(work, "hook-started");
  writeConfig(["sleep", "100"], { cgroup: "killed", hooks: { createRuntime: [{ path: "/bin/sh", args: ["sh", "-c", `echo $$ > ${marker}; exec sleep 100`] }] } });
  const create = spawn(r.argv[0]!, [...r.argv.slice(1), "create", "--bundle", bundle, id], { stdio: "ignore" });
  const deadline = Date.now() + 120_000;
  while (!existsSync(marker) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  const hookPid = Number(readFileSync(marker, "utf8"));
  const cgroupDir = join(detectLayout().v1Mounts.pids ?? detectLayout().unifiedMount!, prefix, "killed");
  const inCgroup = readFileSync(join(cgroupDir, "cgroup.procs"), "utf8").trim().split("\n").filter((l) => l !== "").map(Number);
  assert.equal(inCgroup.length, 1, "the init waits in the container's cgroup");
  create.kill("SIGKILL");
  await new Promise((res) => create.once("exit", res));
  process.kill(hookPid, "SIGKILL");
  assert.equal(stateOf(r, id).status, "creating", "recorded before any process, with pid 0");
  assert.match(rt(r, ["delete", id]).err, /not stopped: creating/, "only --force deletes it");
  assert.equal(rt(r, ["delete", "--force", id]).code, 0);
  assert.equal(existsSync(cgroupDir), false, "the cgroup is gone");
  assert.equal(readProcStat(inCgroup[0]!) === undefined || readProcStat(inCgroup[0]!)!.state === "Z", true, "the init is gone");
  if (readProcStat(inCgroup[0]!)?.state === "Z") await reap(inCgroup[0]!);
  await reap(hookPid).catch(() => undefined);
});

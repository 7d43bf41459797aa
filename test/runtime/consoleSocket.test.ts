// process.terminal through a console socket, as runc --console-socket: the init opens a pty of
// the container's devpts, makes the slave the program's stdio and controlling terminal, and sends
// the master over the socket in one message (data "/dev/ptmx", one fd), then closes it.
import { test, after, afterEach, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ReadStream } from "node:tty";
import { CONSOLE_MESSAGE, sendConsole } from "../../src/runtime/consoleSocket";
import { Executor, type ExecProcess } from "../../src/runtime/exec";
import { Launcher, type PreparedContainer } from "../../src/runtime/launcher";
import type { ContainerSpec } from "../../src/runtime/spec";
import { defaultSpec } from "../../src/runtime/specgen/defaults";
import { HostformError, ValidationError } from "../../src/sys/errors";
import { ptyNumber } from "../../src/sys/terminal";
import { acceptUnix, connectUnix, listenUnix, recvFd, type ReceivedFd } from "../../src/sys/unixSocket";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { makeBusyboxBundle } from "../../fixtures/busyboxRootfs";
import { assertNoMountsOf, assertProcessesGone } from "../helpers/leftovers";

const prefix = testPrefix("console");
let bundle = "";
let rootfs = "";
let launcher: Launcher;
const pids: number[] = [];
let checkedPids = 0;
let socketSeq = 0;

before(() => {
  if (needsRoot !== false) return;
  ({ bundle, rootfs } = makeBusyboxBundle(prefix));
  for (const a of ["tty", "stty"]) symlinkSync("busybox", join(rootfs, "bin", a));
  launcher = new Launcher({ poolSize: 0 });
});

after(async () => {
  await launcher?.close();
  if (bundle !== "") rmSync(bundle, { recursive: true, force: true });
});

afterEach(async () => {
  const mine = pids.slice(checkedPids);
  checkedPids = pids.length;
  await assertProcessesGone(mine, "container processes left on the host");
  assertNoMountsOf(prefix);
});

function terminalSpec(script: string, consoleSize?: { height: number; width: number }): ContainerSpec {
  const s = defaultSpec({ rootfs, args: ["sh", "-c", script] });
  s.process.terminal = true;
  if (consoleSize !== undefined) s.process.consoleSize = consoleSize;
  return s;
}

/**
 * A listening socket in the bundle, as conmon makes one. connect() gives a client fd for the
 * launcher; receive() takes the first connection's one message and checks that nothing follows.
 */
function consoleSocket(): { path: string; connect: () => number; receive: () => ReceivedFd; close: () => void } {
  const path = join(bundle, `console-${socketSeq++}.sock`);
  const listener = listenUnix(path);
  let client: number | undefined;
  const closeClient = (): void => {
    if (client !== undefined) closeSync(client);
    client = undefined;
  };
  return {
    path,
    connect: () => (client = connectUnix(path)),
    // The sender has sent and closed its copy by now (the init before prepare() resolves): nothing here blocks.
    receive: () => {
      closeClient();
      const server = acceptUnix(listener);
      try {
        const got = recvFd(server);
        // runc sends one message and closes the connection.
        assert.throws(() => recvFd(server), (err: unknown) => err instanceof HostformError && /connection was closed/.test(err.message));
        return got;
      } finally {
        closeSync(server);
      }
    },
    close: () => {
      closeClient();
      closeSync(listener);
    },
  };
}

/** Everything the terminal shows until the last slave closes; `answer` types a line once `when` has been shown. */
function readTerminal(master: number, answer?: { when: string; line: string }): Promise<string> {
  const pty = new ReadStream(master, { writable: true } as never);
  let out = "";
  let answered = answer === undefined;
  return new Promise((resolve, reject) => {
    pty.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (!answered && out.includes(answer!.when)) {
        answered = true;
        (pty as unknown as { write(s: string): void }).write(answer!.line);
      }
    });
    const done = (): void => {
      pty.destroy();
      resolve(out);
    };
    // EIO is how a master says the last slave fd was closed: the program is gone.
    pty.on("error", (err: NodeJS.ErrnoException) => (err.code === "EIO" ? done() : reject(err)));
    pty.on("end", done);
  });
}

test("the terminal's master arrives over the console socket as runc sends it; the program has the slave as stdio and controlling terminal", { skip: needsRoot }, async () => {
  const sock = consoleSocket();
  let master: number | undefined;
  let prepared: PreparedContainer | undefined;
  try {
    // /dev/tty first: a session leader opening a terminal without O_NOCTTY (here /dev/console) would acquire it.
    const script = "echo ctty > /dev/tty; tty; stty size; stty size < /dev/console; read line; echo got:$line; exit 3";
    prepared = await launcher.prepare(terminalSpec(script, { height: 33, width: 101 }), { consoleSocket: sock.connect(), onCgroup: (pid) => void pids.push(pid) });
    const got = sock.receive();
    master = got.fd;
    assert.equal(got.data, "/dev/ptmx");
    assert.equal(CONSOLE_MESSAGE, "/dev/ptmx");
    // TIOCGPTN answers on a master only: pty 0 of the container's own devpts instance.
    assert.equal(ptyNumber(master), 0);
    const c = await prepared.start();
    const fd = master;
    master = undefined;
    const shown = await readTerminal(fd, { when: "33 101\r\n33 101", line: "typed in\n" });
    assert.equal((await c.exited).code, 3, shown);
    assert.deepEqual(shown.split("\r\n"), ["ctty", "/dev/pts/0", "33 101", "33 101", "typed in", "got:typed in", ""]);
  } finally {
    if (master !== undefined) closeSync(master);
    sock.close();
    await prepared?.abort();
  }
});

test("the terminal belongs to the program's user, as runc's fixStdioPermissions leaves it", { skip: needsRoot }, async () => {
  const sock = consoleSocket();
  let prepared: PreparedContainer | undefined;
  try {
    const s = terminalSpec("ls -ln $(tty)");
    s.process.user = { uid: 1000, gid: 1000 };
    prepared = await launcher.prepare(s, { consoleSocket: sock.connect(), onCgroup: (pid) => void pids.push(pid) });
    const { fd } = sock.receive();
    const c = await prepared.start();
    const shown = await readTerminal(fd);
    assert.equal((await c.exited).code, 0, shown);
    // crw--w---- 1 1000 5 136, 0 ... /dev/pts/0: owner the user, group devpts' gid=5.
    assert.match(shown, /^c\S+\s+\d+\s+1000\s+5\s.*\/dev\/pts\/0\r\n$/);
  } finally {
    sock.close();
    await prepared?.abort();
  }
});

test("a terminal without a console socket, or a console socket without a terminal, is refused naming the field, before any process starts", { skip: needsRoot }, async () => {
  let placed = 0;
  const onCgroup = (): void => void placed++;
  await assert.rejects(
    launcher.prepare(terminalSpec("true"), { onCgroup }),
    (err: unknown) => err instanceof ValidationError && err.field === "process.terminal" && /console socket/.test(err.message) && /consoleSocket/.test(err.hint ?? ""),
  );
  const sock = consoleSocket();
  try {
    const s = terminalSpec("true");
    s.process.terminal = false;
    await assert.rejects(
      launcher.prepare(s, { consoleSocket: sock.connect(), onCgroup }),
      (err: unknown) => err instanceof ValidationError && err.field === "consoleSocket" && /process\.terminal/.test(err.message),
    );
  } finally {
    sock.close();
  }
  assert.equal(placed, 0);
});

test("sendConsole hands an exec's terminal to a console socket path in the same message (runc exec --tty --console-socket)", { skip: needsRoot }, async () => {
  const target = await launcher.launch(defaultSpec({ rootfs, args: ["sleep", "1000"] }), { onCgroup: (pid) => void pids.push(pid) });
  const executor = new Executor();
  const sock = consoleSocket();
  let p: ExecProcess | undefined;
  try {
    // cgroupPaths []: the exec stays in this test's cgroup, as the target did.
    p = await executor.exec({ pid: target.pid, spec: defaultSpec({ rootfs, args: ["sleep", "1000"] }), cgroupPaths: [] }, { args: ["sh", "-c", "tty; stty size"], tty: true, ttySize: { rows: 12, cols: 34 } });
    pids.push(p.pid);
    assert.ok(p.terminal !== undefined);
    sendConsole(sock.path, p.terminal.master);
    closeSync(p.terminal.master);
    const got = sock.receive();
    assert.equal(got.data, "/dev/ptmx");
    const shown = await readTerminal(got.fd);
    assert.equal((await p.exited).code, 0, shown);
    assert.equal(shown, "/dev/pts/0\r\n12 34\r\n");
  } finally {
    sock.close();
    // The exec'd process is the executor's child: reaped before the executor goes, or the
    // container's PID 1 would wait for that zombie forever.
    p?.kill("SIGKILL");
    await p?.exited;
    process.kill(target.pid, "SIGKILL");
    await target.exited;
    await executor.close();
  }
});

const runcMissing = spawnSync("runc", ["--version"]).status !== 0 && "runc is not installed (apt-get install runc)";

/** What the program of the first test shows on its terminal, run from `config` by runc create/start with --console-socket. */
function underRunc(config: Record<string, unknown>, id: string, runcRoot: string, script: string): { data: string; shown: Promise<string> } {
  const c = structuredClone(config) as { process: { args: string[] }; linux: { cgroupsPath?: string } };
  c.process.args = ["sh", "-c", script];
  // Absolute: runc's cgroupfs driver makes /<id> in each hierarchy and removes it on delete.
  c.linux.cgroupsPath = `/${id}`;
  const runcBundle = mkdtempSync(join(bundle, "runc-bundle-"));
  writeFileSync(join(runcBundle, "config.json"), JSON.stringify(c));
  const sock = consoleSocket();
  // The parked init keeps create's stdio: a file, never a pipe read to EOF.
  const log = openSync(join(runcBundle, "create.log"), "w+");
  try {
    const r = spawnSync("runc", ["--root", runcRoot, "create", "--bundle", runcBundle, "--console-socket", sock.path, id], { stdio: ["ignore", log, log], timeout: 20_000 });
    assert.equal(r.status, 0, readFileSync(join(runcBundle, "create.log"), "utf8"));
    const got = sock.receive();
    execFileSync("runc", ["--root", runcRoot, "start", id], { stdio: "ignore" });
    return { data: got.data, shown: readTerminal(got.fd, { when: "33 101\r\n33 101", line: "typed in\n" }) };
  } finally {
    closeSync(log);
    sock.close();
  }
}

test("differential: runc create --console-socket sends the same message and its container shows the same terminal", { skip: needsRoot || runcMissing }, async () => {
  const runcRoot = mkdtempSync(join(tmpdir(), `${prefix}-runc-root-`));
  const id = `${prefix}-runc`;
  const specDir = mkdtempSync(join(bundle, "runc-spec-"));
  const script = "echo ctty > /dev/tty; tty; stty size; stty size < /dev/console; read line; echo got:$line; exit 3";
  try {
    execFileSync("runc", ["spec", "--bundle", specDir]);
    const config = JSON.parse(readFileSync(join(specDir, "config.json"), "utf8")) as { root: { path: string }; process: Record<string, unknown> };
    assert.equal(config.process.terminal, true);
    config.root.path = rootfs;
    config.process.consoleSize = { height: 33, width: 101 };
    const runc = underRunc(config, id, runcRoot, script);
    const runcShown = await runc.shown;

    const sock = consoleSocket();
    let prepared: PreparedContainer | undefined;
    try {
      const spec = structuredClone(config) as unknown as ContainerSpec;
      spec.process.args = ["sh", "-c", script];
      prepared = await launcher.prepare(spec, { consoleSocket: sock.connect(), onCgroup: (pid) => void pids.push(pid) });
      const got = sock.receive();
      assert.equal(got.data, runc.data);
      const c = await prepared.start();
      const shown = await readTerminal(got.fd, { when: "33 101\r\n33 101", line: "typed in\n" });
      assert.equal((await c.exited).code, 3, shown);
      assert.deepEqual(shown.split("\r\n"), runcShown.split("\r\n"));
      assert.deepEqual(shown.split("\r\n"), ["ctty", "/dev/pts/0", "33 101", "33 101", "typed in", "got:typed in", ""]);
    } finally {
      sock.close();
      await prepared?.abort();
    }
  } finally {
    spawnSync("runc", ["--root", runcRoot, "delete", "--force", id], { stdio: "ignore" });
    rmSync(runcRoot, { recursive: true, force: true });
    assert.equal(existsSync(`/sys/fs/cgroup/pids/${id}`) || existsSync(`/sys/fs/cgroup/unified/${id}`), false, "runc removed its cgroup");
  }
});

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { openCgroupDriver } from "../../src/cgroup/driver";
import { HostformError, NotFoundError, ValidationError } from "../../src/sys/errors";
import { containerDir, processStartTime, readState } from "../../src/runtime/state";
import { needsRoot } from "../../fixtures/prefix";
import { statusField } from "../helpers/procStatus";
import { makeSupervisorFixture, pidAlive, until, type SupervisorFixture } from "./supervisorFixture";

let f: SupervisorFixture;

before(() => {
  if (needsRoot === false) f = makeSupervisorFixture("life");
});

after(async () => {
  await f?.cleanup();
});

function mountsMention(text: string): boolean {
  return text.split("\n").some((l) => l.includes(f.prefix));
}

test("a container keeps running after the process that created it exits", { skip: needsRoot }, async () => {
  const id = f.id("outlive");
  const clientJs = join(__dirname, "../../src/runtime/client.js");
  const specJson = JSON.stringify(f.spec(["sleep", "1000"]));
  // create + start from a separate, short-lived node process.
  const script = `const { RuntimeClient } = require(${JSON.stringify(clientJs)});
    const c = new RuntimeClient({ runDir: ${JSON.stringify(f.runDir)} });
    (async () => { await c.create(${JSON.stringify(id)}, ${specJson}); const s = await c.start(${JSON.stringify(id)}); process.stdout.write(String(s.pid)); })()
      .catch((e) => { process.stderr.write(String(e.stack)); process.exit(1); });`;
  // Generous: Node and the supervisor it starts take seconds each under emulation (test/vm).
  const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const pid = Number(r.stdout);
  const s = await f.client.state(id);
  assert.equal(s.status, "running");
  assert.equal(s.pid, pid);
  assert.ok(pidAlive(pid), "the container's PID 1 is alive after its creator exited");
  assert.equal(processStartTime(pid), s.pidStartTime);
  assert.match(readFileSync(`/proc/${pid}/cmdline`, "utf8"), /^sleep\0/);
  await f.client.delete(id, { force: true });
  assert.ok(await until(() => !pidAlive(pid)));
});

test("create leaves the program waiting; start runs it; exit code and times are recorded", { skip: needsRoot }, async () => {
  const id = f.id("exit");
  const created = await f.client.create(id, f.spec(["sh", "-c", "exit 7"]));
  assert.equal(created.status, "created");
  assert.ok(pidAlive(created.pid));
  // The init (a node process) waits: the user's program has not run yet.
  assert.doesNotMatch(readFileSync(`/proc/${created.pid}/cmdline`, "utf8"), /^sh\0/);
  await f.client.start(id);
  const w = await f.client.wait(id);
  assert.deepEqual({ code: w.exitCode, signal: w.signal }, { code: 7, signal: null });
  const s = await f.client.state(id);
  assert.equal(s.status, "stopped");
  assert.equal(s.exitCode, 7);
  assert.ok(s.started !== undefined && s.finished !== undefined);
  assert.ok(Date.parse(s.finished) >= Date.parse(s.started));
  await f.client.delete(id);
});

test("stop sends the declared stop signal", { skip: needsRoot }, async () => {
  const id = f.id("stopsig");
  await f.client.create(id, f.spec(["sh", "-c", 'trap "exit 42" USR1; while true; do sleep 0.1; done']), { stopSignal: "USR1", stopTimeout: 20 });
  const started = await f.client.start(id);
  // PID 1 of a pid namespace ignores a signal it has no handler for: stop only once the trap is set
  // (SigCgt bit 9 = SIGUSR1), else a busy machine loses the race and stop ends in SIGKILL.
  const catches = (): boolean => (BigInt(`0x${/^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${started.pid}/status`, "utf8"))?.[1] ?? "0"}`) & (1n << 9n)) !== 0n;
  assert.ok(await until(catches), "the shell installed its trap");
  const s = await f.client.stop(id);
  assert.equal(s.status, "stopped");
  assert.equal(s.exitCode, 42, "the trap for the declared signal ran");
  await f.client.delete(id);
});

test("stop kills every process of the cgroup when the program ignores the stop signal", { skip: needsRoot }, async () => {
  const id = f.id("stopkill");
  await f.client.create(id, f.spec(["sh", "-c", 'trap "" TERM; sleep 100; echo never']), { stopTimeout: 1 });
  const s0 = await f.client.start(id);
  const driver = openCgroupDriver();
  assert.ok(await until(() => driver.procs(s0.cgroup).length >= 2), "sh and sleep are in the container's cgroup");
  const t0 = Date.now();
  const s = await f.client.stop(id);
  assert.ok(Date.now() - t0 >= 900, "the stop timeout was honoured before killing");
  assert.equal(s.status, "stopped");
  assert.equal(s.signal, "SIGKILL");
  assert.equal(s.exitCode, 137);
  assert.deepEqual(driver.procs(s0.cgroup), []);
  await f.client.delete(id);
});

test("delete refuses a running container without force, and leaves nothing behind", { skip: needsRoot }, async () => {
  const id = f.id("delete");
  await f.client.create(id, f.spec(["sleep", "1000"]), { limits: { pids: { max: 20 } } });
  const s = await f.client.start(id);
  const driver = openCgroupDriver();
  assert.ok(driver.exists(s.cgroup));
  assert.equal(driver.read(s.cgroup).pids?.max, 20);
  await assert.rejects(f.client.delete(id), (e: Error) => e instanceof ValidationError && /running.*--force/.test(e.message));
  assert.ok(pidAlive(s.pid));
  const supPid = f.supervisorPid()!;
  await f.client.delete(id, { force: true });
  assert.ok(!pidAlive(s.pid) || processStartTime(s.pid) !== s.pidStartTime, "process gone");
  assert.equal(driver.exists(s.cgroup), false, "cgroup gone");
  assert.equal(existsSync(containerDir(id)), false, "state dir and logs gone");
  assert.ok(!mountsMention(readFileSync(`/proc/${supPid}/mountinfo`, "utf8")), "no mount of the container in the supervisor");
  assert.ok(!mountsMention(readFileSync("/proc/self/mountinfo", "utf8")), "no mount of the container on the host");
  assert.ok(!(await f.client.list()).some((c) => c.id === id));
  await assert.rejects(f.client.state(id), (e: unknown) => e instanceof NotFoundError && e.kind === "container" && e.id === id);
});

async function assertNothingMade(id: string): Promise<void> {
  assert.equal(existsSync(containerDir(id)), false, "no state dir");
  assert.equal(openCgroupDriver().exists(id), false, "no cgroup");
  assert.ok(!(await f.client.list()).some((c) => c.id === id), "not listed");
}

test("bad input fails at create with a named field and nothing half-made", { skip: needsRoot }, async () => {
  const cases: Array<{ name: string; spec: unknown; opts?: Parameters<SupervisorFixture["client"]["create"]>[2]; match: RegExp; field?: string }> = [
    { name: "norootfs", spec: { ...f.spec(["true"]), root: { path: join(f.bundle, "missing") } }, match: /root\.path: .*does not exist/, field: "root.path" },
    { name: "noprog", spec: f.spec(["/bin/not-there"]), match: /process\.args\[0\]: '\/bin\/not-there' was not found/, field: "process.args[0]" },
    { name: "noprogpath", spec: f.spec(["nosuchcmd"]), match: /'nosuchcmd' was not found/, field: "process.args[0]" },
    { name: "user", spec: (() => { const s = f.spec(["true"]) as unknown as { process: { user: Record<string, unknown> } }; s.process.user = { uid: 0, gid: 0, username: "nobody" }; return s; })(), match: /process\.user\.username/, field: "process.user.username" },
    { name: "baduid", spec: (() => { const s = f.spec(["true"]) as unknown as { process: { user: Record<string, unknown> } }; s.process.user = { uid: "nobody", gid: 0 }; return s; })(), match: /process\.user\.uid/ },
    // Two cores here: a cpuset of CPUs the host does not have cannot be enforced.
    { name: "limit", spec: f.spec(["true"]), opts: { limits: { cpuset: { cpus: "0-4095" } } }, match: /cpuset/ },
    { name: "policy", spec: f.spec(["true"]), opts: { restartPolicy: "sometimes" }, match: /restartPolicy/, field: "restartPolicy" },
  ];
  for (const c of cases) {
    const id = f.id(c.name);
    await assert.rejects(f.client.create(id, c.spec, c.opts), (e: Error) => {
      assert.ok(e instanceof HostformError, `${c.name}: typed error, got ${e.name}`);
      assert.match(e.message, c.match, c.name);
      if (c.field !== undefined) assert.equal((e as ValidationError).field, c.field, c.name);
      return true;
    });
    await assertNothingMade(id);
  }
});

test("kill accepts names and numbers; a killed container records the signal", { skip: needsRoot }, async () => {
  const id = f.id("kill");
  await f.client.create(id, f.spec(["sh", "-c", "trap 'exit 5' HUP; while true; do sleep 0.1; done"]));
  const { pid } = await f.client.start(id);
  // sh is PID 1 of its pid namespace: the kernel drops a HUP it does not catch yet. Send it only
  // once the trap is in place (SigCgt has SIGHUP's bit).
  const catchesHup = (): boolean => (BigInt(`0x${statusField(readFileSync(`/proc/${pid}/status`, "utf8"), "SigCgt")}`) & 1n) === 1n;
  assert.ok(await until(catchesHup), "the container's sh traps HUP");
  await f.client.kill(id, 1);
  assert.equal((await f.client.wait(id)).exitCode, 5);
  await assert.rejects(f.client.kill(id, "NOPE"), /not a signal/);
  // runc's words for a container with no process: containerd's shim takes the kill as done on them.
  await assert.rejects(f.client.kill(id, "TERM"), (e: unknown) => e instanceof ValidationError && /container not running: \S+ is stopped/.test(e.message));
  await f.client.delete(id);
});

test("launcher warnings (an ambient capability the kernel cannot raise) are kept in the state and returned by create", { skip: needsRoot }, async () => {
  const id = f.id("warn");
  const spec = f.spec(["sleep", "1000"]);
  // Ambient but not inheritable: skipped with a warning, as runc does, instead of failing.
  spec.process.capabilities = { ...spec.process.capabilities, ambient: ["CAP_NET_BIND_SERVICE"] };
  const created = await f.client.create(id, spec);
  try {
    assert.equal(created.warnings?.length, 1);
    assert.match(created.warnings[0]!, /process\.capabilities\.ambient: CAP_NET_BIND_SERVICE/);
    const started = await f.client.start(id);
    assert.deepEqual(started.warnings, created.warnings);
    assert.deepEqual(readState(id)!.warnings, created.warnings, "state.json holds them");
  } finally {
    await f.client.delete(id, { force: true });
  }
  // A spec with nothing to warn about leaves no warnings field.
  const quiet = f.id("quiet");
  const q = await f.client.create(quiet, f.spec(["true"]));
  assert.equal(q.warnings, undefined);
  await f.client.delete(quiet, { force: true });
});

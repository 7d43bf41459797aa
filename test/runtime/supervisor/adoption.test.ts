// Adoption of what an earlier supervisor left: first the reading and the decision per container on
// crafted state directories (no process), then against a real supervisor killed with SIGKILL: a
// corrupt state file is reported and its container kept, and a pending restart is re-armed from
// the typed field.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCgroupDriver } from "../../../src/cgroup/driver";
import { containerDir, isSameProcess, readState, statePath, writeState, type ContainerState } from "../../../src/runtime/state";
import { adoptionStep, readLeftContainers } from "../../../src/runtime/supervisor/adoption";
import { CorruptFileError, NotFoundError, ValidationError } from "../../../src/sys/errors";
import { needsRoot, testPrefix } from "../../../fixtures/prefix";
import { makeSupervisorFixture, pidAlive, until, type SupervisorFixture } from "../supervisorFixture";

let f: SupervisorFixture;

before(() => {
  if (needsRoot === false) f = makeSupervisorFixture("adopt");
});

after(async () => {
  await f?.cleanup();
});

function stateOf(id: string, status: ContainerState["status"], extra: Partial<ContainerState> = {}): ContainerState {
  return {
    ociVersion: "1.0.2", id, status, pid: 0, bundle: "/", annotations: {}, pidStartTime: 0, created: new Date().toISOString(), exitCode: null,
    signal: null, restartCount: 0, restartPolicy: "always", stopSignal: "SIGTERM", stopTimeout: 10, cgroup: id, ownsCgroup: false,
    logPath: "/dev/null", logMaxBytes: 1, logFiles: 0, stdio: "log", spec: { ociVersion: "1.0.2", process: { args: ["true"], cwd: "/" }, root: { path: "/" } } as ContainerState["spec"],
    ...extra,
  };
}

/** Runs fn with the state store pointed at dir (the fixture's supervisor keeps its own run dir). */
function inRunDir<T>(dir: string, fn: () => T): T {
  const saved = process.env.HOSTFORM_RUN_DIR;
  process.env.HOSTFORM_RUN_DIR = dir;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.HOSTFORM_RUN_DIR;
    else process.env.HOSTFORM_RUN_DIR = saved;
  }
}

test("every container directory is read: states, unreadable files as typed errors, half-made creates", () => {
  const dir = mkdtempSync(join(tmpdir(), `${testPrefix("left")}-`));
  try {
    inRunDir(dir, () => {
      const c = (id: string) => join(dir, "containers", id);
      for (const id of ["ok", "torn", "wrongid", "halfmade", "nostate"]) mkdirSync(c(id), { recursive: true });
      writeState(stateOf("ok", "running"));
      writeFileSync(statePath("torn"), '{"ociVersion": "1.0.2", "id": "to');
      writeFileSync(statePath("wrongid"), JSON.stringify(stateOf("other", "running")));
      writeFileSync(join(c("halfmade"), "seccomp.bpf"), "");
      writeFileSync(join(c("nostate"), "container.log"), "output of a container whose state is gone\n");
      const left = new Map(readLeftContainers().map((l) => [l.kind === "state" ? l.state.id : l.id, l]));
      assert.equal(left.size, 5, "nothing skipped");
      assert.equal(left.get("ok")?.kind, "state");
      assert.equal(left.get("halfmade")?.kind, "half-made");
      for (const [id, problem] of [["torn", /is not valid JSON/], ["wrongid", /holds container "other"/], ["nostate", /is missing/]] as const) {
        const l = left.get(id);
        assert.ok(l?.kind === "unreadable", id);
        assert.ok(l.error instanceof CorruptFileError && l.error.path === statePath(id) && problem.test(l.error.problem), `${id}: ${l.error.message}`);
        assert.match(l.error.message, new RegExp(`^container ${id}: `), "the error names the container");
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("what adoption does with each status", () => {
  const pending = { at: new Date().toISOString(), delayMs: 100, attempt: 0 };
  assert.equal(adoptionStep(stateOf("a", "creating"), true), "undo-create");
  assert.equal(adoptionStep(stateOf("a", "created"), true), "stop-orphaned-init");
  assert.equal(adoptionStep(stateOf("a", "running"), true), "keep");
  assert.equal(adoptionStep(stateOf("a", "running"), false), "exited-unwatched");
  assert.equal(adoptionStep(stateOf("a", "stopped", { pendingRestart: pending }), false), "rearm-restart");
  assert.equal(adoptionStep(stateOf("a", "stopped", { exitNote: "restarting in 100 ms" }), false), "keep", "the note is never read back");
});

test("a running container whose state file turned corrupt is reported, kept under its id and left running", { skip: needsRoot }, async () => {
  const id = f.id("corrupt");
  await f.client.create(id, f.spec(["sleep", "1000"]));
  const s = await f.client.start(id);
  try {
    const sup = f.supervisorPid();
    assert.ok(sup !== undefined);
    process.kill(sup, "SIGKILL");
    assert.ok(await until(() => !pidAlive(sup)));
    writeFileSync(statePath(id), '{"ociVersion": "1.0.2", "id": ');

    // The next supervisor cannot adopt it: every answer about it says why, with the file named.
    const isCorrupt = (e: unknown) => e instanceof CorruptFileError && e.path === statePath(id) && /is not valid JSON/.test(e.problem);
    await assert.rejects(f.client.state(id), isCorrupt);
    const all = await f.client.listAll();
    assert.ok(all.unreadable.some((u) => u.id === id && isCorrupt(u.error)), "listed as unreadable");
    assert.ok(!all.containers.some((c) => c.id === id));
    const log = readFileSync(join(f.runDir, "supervisor.log"), "utf8");
    assert.ok(log.includes(`container ${id}: ${statePath(id)}: is not valid JSON`) && log.includes("not adopted"), "reported in the supervisor log");
    const ps = spawnSync(process.execPath, [join(__dirname, "../../../../bin/hostform"), "ps"], { encoding: "utf8", env: { ...process.env, HOSTFORM_RUN_DIR: f.runDir }, timeout: 30_000 });
    assert.equal(ps.status, 0, ps.stderr);
    assert.match(ps.stdout, new RegExp(`^${id} +- +unreadable`, "m"), "hostform ps shows it");
    assert.ok(ps.stderr.includes(`${statePath(id)}: is not valid JSON`), "and says why on stderr");
    const env = { ...process.env, HOSTFORM_RUN_DIR: f.runDir };
    const stats = spawnSync(process.execPath, [join(__dirname, "../../../../bin/hostform"), "stats"], { encoding: "utf8", env, timeout: 30_000 });
    assert.ok(stats.stderr.includes(`${statePath(id)}: is not valid JSON`), `hostform stats says so on stderr: ${stats.stderr}`);
    assert.ok(pidAlive(s.pid), "its process is not killed");

    // The id stays taken; only delete --force clears it, and then it is gone.
    await assert.rejects(f.client.create(id, f.spec(["true"])), (e: unknown) => e instanceof ValidationError && e.field === "id" && /already exists/.test(e.message));
    await assert.rejects(f.client.delete(id), (e: unknown) => e instanceof ValidationError && e.field === "force");
    await f.client.delete(id, { force: true });
    await assert.rejects(f.client.state(id), (e: unknown) => e instanceof NotFoundError && e.id === id);
  } finally {
    // Its processes and cgroup are not the supervisor's to remove any more: the test removes them.
    if (isSameProcess(s.pid, s.pidStartTime)) process.kill(s.pid, "SIGKILL");
    const driver = openCgroupDriver();
    if (driver.exists(s.cgroup)) {
      await driver.kill(s.cgroup);
      await driver.delete(s.cgroup);
    }
    await f.client.delete(id, { force: true }).catch(() => undefined);
    // Should delete have failed, the corrupt file must not stop the fixture's cleanup from reading the rest.
    rmSync(containerDir(id), { recursive: true, force: true });
  }
});

test("a restart pending when the supervisor dies is re-armed from the typed field by the next one", { skip: needsRoot }, async () => {
  const id = f.id("rearm");
  await f.client.create(id, f.spec(["sh", "-c", "exit 3"]), { restartPolicy: "on-failure:4" });
  await f.client.start(id);
  // Back-off 100, 200, 400, 800 ms: kill the supervisor early in a long one, so no restart is under way.
  const inLongBackoff = () => {
    const p = readState(id)?.pendingRestart;
    return p !== undefined && p.delayMs >= 400 && Date.parse(p.at) - Date.now() > 250;
  };
  assert.ok(await until(inLongBackoff, 15_000, 10), "a long back-off came");
  const sup = f.supervisorPid();
  assert.ok(sup !== undefined);
  process.kill(sup, "SIGKILL");
  assert.ok(await until(() => !pidAlive(sup)));
  const left = readState(id)!;
  assert.equal(left.status, "stopped");
  assert.ok(left.pendingRestart !== undefined && left.restartCount < 4, "the dead supervisor left a restart pending");
  assert.doesNotMatch(left.exitNote ?? "", /restarting/, "the note is not where the restart is kept");

  // The next supervisor makes the restarts the policy still owes, then it stops for good.
  const done = await until(async () => {
    const st = await f.client.state(id);
    return st.status === "stopped" && st.restartCount === 4 && st.pendingRestart === undefined;
  }, 20_000);
  assert.ok(done, `restarted to the policy's limit (state: ${JSON.stringify(readState(id))})`);
  assert.notEqual(f.supervisorPid(), sup);
  const w = await f.client.wait(id);
  assert.equal(w.exitCode, 3);
  await f.client.delete(id);
});

test("a stop during a back-off cancels the restart on disk too: the next supervisor does not make it", { skip: needsRoot }, async () => {
  const id = f.id("stopped");
  await f.client.create(id, f.spec(["true"]), { restartPolicy: "always" });
  await f.client.start(id);
  assert.ok(await until(() => readState(id)?.pendingRestart !== undefined, 15_000, 10), "a restart is pending");
  const seen = readState(id)!.pendingRestart!;
  const stopped = await f.client.stop(id);
  assert.equal(stopped.pendingRestart, undefined);
  assert.equal(readState(id)!.pendingRestart, undefined, "state.json no longer holds the restart");
  const sup = f.supervisorPid();
  assert.ok(sup !== undefined);
  process.kill(sup, "SIGKILL");
  assert.ok(await until(() => !pidAlive(sup)));
  const adopted = await f.client.state(id);
  // Longer than the back-off of the cancelled restart (the one seen, or the next if one ran before the stop).
  await new Promise((r) => setTimeout(r, Math.max(1500, 2 * seen.delayMs + 500)));
  const later = await f.client.state(id);
  assert.deepEqual({ status: later.status, count: later.restartCount }, { status: "stopped", count: adopted.restartCount });
  await f.client.delete(id);
});

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { needsRoot } from "../../fixtures/prefix";
import { processStartTime } from "../../src/runtime/state";
import { makeSupervisorFixture, pidAlive, until, type SupervisorFixture } from "./supervisorFixture";

let f: SupervisorFixture;

before(() => {
  // Short enough to see the idle exit in a test, long enough not to race the other tests.
  process.env.HOSTFORM_SUPERVISOR_IDLE_MS = "1500";
  if (needsRoot === false) f = makeSupervisorFixture("sup");
});

after(async () => {
  await f?.cleanup();
  delete process.env.HOSTFORM_SUPERVISOR_IDLE_MS;
});

test("containers survive the supervisor's death; a new supervisor adopts them", { skip: needsRoot }, async () => {
  const running = f.id("adopt");
  const created = f.id("created");
  await f.client.create(running, f.spec(["sleep", "1000"]));
  const s = await f.client.start(running);
  const c = await f.client.create(created, f.spec(["true"]));
  const sup = f.supervisorPid();
  assert.ok(sup !== undefined);
  // The supervisor runs detached, in its own session, with its log under the run dir.
  assert.match(readFileSync(`${f.runDir}/supervisor.log`, "utf8"), new RegExp(`supervisor ${sup} listening`));
  process.kill(sup, "SIGKILL");
  assert.ok(await until(() => !pidAlive(sup)));
  assert.ok(pidAlive(s.pid), "the container outlives its supervisor");

  // The next request starts a new supervisor, which adopts the running container.
  const adopted = await f.client.state(running);
  const sup2 = f.supervisorPid();
  assert.ok(sup2 !== undefined && sup2 !== sup);
  assert.equal(adopted.status, "running");
  assert.equal(adopted.pid, s.pid);
  assert.equal(adopted.pidStartTime, processStartTime(s.pid));
  // A created container's init waited on the dead supervisor: it is stopped now.
  const c2 = await f.client.state(created);
  assert.equal(c2.status, "stopped");
  assert.ok(await until(() => !pidAlive(c.pid)), "the orphaned init is gone");

  // The adopted container is not the new supervisor's child: its exit code is unknowable.
  process.kill(s.pid, "SIGKILL");
  const w = await f.client.wait(running);
  assert.equal(w.exitCode, null);
  assert.match(w.exitNote ?? "", /^exit code unknown: it was adopted/);
  const st = await f.client.state(running);
  assert.deepEqual({ code: st.exitCode, status: st.status }, { code: null, status: "stopped" }, "unknown is null, never a made-up failure code");
  await f.client.delete(running);
  await f.client.delete(created);
});

test("an adopted on-failure container whose exit code is unknowable is restarted: on-failure counts the unknown as a failure", { skip: needsRoot }, async () => {
  const id = f.id("adoptfail");
  await f.client.create(id, f.spec(["sleep", "1000"]), { restartPolicy: "on-failure:1" });
  const s = await f.client.start(id);
  const sup = f.supervisorPid();
  assert.ok(sup !== undefined);
  process.kill(sup, "SIGKILL");
  assert.ok(await until(() => !pidAlive(sup)));
  assert.equal((await f.client.state(id)).pid, s.pid, "adopted by a new supervisor");
  process.kill(s.pid, "SIGKILL");
  // Success was not seen, so on-failure restarts it (as runc under systemd's Restart=on-failure would on an unknown status).
  const back = await until(async () => {
    const st = await f.client.state(id);
    return st.status === "running" && st.pid !== s.pid;
  });
  assert.ok(back, "restarted");
  const st = await f.client.state(id);
  assert.equal(st.restartCount, 1);
  // The restarted run is the new supervisor's child: its exit code is known again.
  process.kill(st.pid, "SIGKILL");
  const w = await f.client.wait(id);
  assert.deepEqual({ code: w.exitCode, signal: w.signal }, { code: 137, signal: "SIGKILL" });
  await f.client.delete(id);
});

test("an idle supervisor exits by itself and a client starts a new one on demand", { skip: needsRoot }, async () => {
  const pid = await f.client.supervisorPid();
  assert.ok(pidAlive(pid));
  assert.ok(await until(() => !pidAlive(pid), 15_000), "the supervisor exited after its idle grace period");
  const pid2 = await f.client.supervisorPid();
  assert.notEqual(pid2, pid);
});

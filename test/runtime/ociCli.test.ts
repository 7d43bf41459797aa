import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runtimeCli, type RuntimeResult } from "../helpers/runtimeCli";
import { needsRoot } from "../../fixtures/prefix";
import { parseSignal } from "../../src/sys/signals";
import { limitsFromOci } from "../../src/cgroup/spec";
import { openCgroupDriver } from "../../src/cgroup/driver";
import { makeSupervisorFixture, pidAlive, until, type SupervisorFixture } from "./supervisorFixture";

let f: SupervisorFixture;

before(() => {
  if (needsRoot === false) f = makeSupervisorFixture("oci");
});

after(async () => {
  await f?.cleanup();
});


function runtime(...args: string[]): RuntimeResult {
  return runtimeCli(f.runDir, f.bundle, args);
}

test("signals parse from names and numbers", () => {
  assert.equal(parseSignal("TERM"), "SIGTERM");
  assert.equal(parseSignal("sigkill"), "SIGKILL");
  assert.equal(parseSignal("9"), "SIGKILL");
  assert.throws(() => parseSignal("BOGUS"), /not a signal/);
  assert.deepEqual(limitsFromOci({ memory: { limit: 1 << 20 }, pids: { limit: 10 } }), { memory: { max: 1 << 20 }, pids: { max: 10 } });
  assert.throws(() => limitsFromOci({ hugepageLimits: [] }), /hugepageLimits/);
});

test("create/start/state/kill/delete round trip; delete of a running container needs --force", { skip: needsRoot }, async () => {
  const spec = f.spec(["sleep", "1000"]);
  spec.root.path = "rootfs";
  writeFileSync(join(f.bundle, "config.json"), JSON.stringify(spec));
  const id = f.id("rt");
  const pidFile = join(f.bundle, "pid");
  const log = join(f.bundle, "runtime.log");

  let r = runtime("create", "--bundle", f.bundle, "--pid-file", pidFile, id);
  assert.equal(r.code, 0, r.err);
  // Where assertNoContainer looks: the container's state dir and cgroup exist while it does.
  assert.ok(existsSync(join(f.runDir, id)) && openCgroupDriver().exists(id), "state dir and cgroup (hostform/<id> without linux.cgroupsPath) of a created container");
  const pid = Number(readFileSync(pidFile, "utf8"));
  r = runtime("state", id);
  assert.equal(r.code, 0, r.err);
  const st = JSON.parse(r.out) as { status: string; pid: number; id: string; bundle: string; ociVersion: string };
  assert.deepEqual({ status: st.status, pid: st.pid, id: st.id, bundle: st.bundle }, { status: "created", pid, id, bundle: f.bundle });

  assert.equal(runtime("start", id).code, 0);
  assert.equal(JSON.parse(runtime("state", id).out).status, "running");
  assert.match(readFileSync(`/proc/${pid}/cmdline`, "utf8"), /^sleep\0/);

  r = runtime("--log", log, "--log-format", "json", "delete", id);
  assert.equal(r.code, 1);
  assert.match(r.err, /not stopped: running.*--force/);
  const logged = JSON.parse(readFileSync(log, "utf8").trim().split("\n").pop()!) as { level: string; msg: string };
  assert.equal(logged.level, "error");
  assert.match(logged.msg, /--force/);
  assert.ok(pidAlive(pid));

  assert.equal(runtime("kill", id, "KILL").code, 0);
  assert.ok(await until(async () => JSON.parse(runtime("state", id).out).status === "stopped"));
  const list = runtime("list", "--format", "json");
  assert.ok((JSON.parse(list.out) as Array<{ id: string }>).some((c) => c.id === id));
  assert.equal(runtime("delete", id).code, 0);
  assertNoContainer(id);

  // Forced delete of a running container.
  const id2 = f.id("force");
  assert.equal(runtime("create", "-b", f.bundle, id2).code, 0);
  assert.equal(runtime("start", id2).code, 0);
  assert.equal(runtime("delete", "--force", id2).code, 0);
  assertNoContainer(id2);
});

test("create logs launcher warnings to --log at level warning, as runc does", { skip: needsRoot }, async () => {
  const spec = f.spec(["sleep", "1000"]);
  spec.process.capabilities = { ...spec.process.capabilities, ambient: ["CAP_NET_BIND_SERVICE"] };
  writeFileSync(join(f.bundle, "config.json"), JSON.stringify(spec));
  const id = f.id("warn");
  const log = join(f.bundle, "warn.log");
  try {
    const r = runtime("--log", log, "--log-format", "json", "create", "--bundle", f.bundle, id);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /warning|ambient/);
    const lines = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { level: string; msg: string });
    const warned = lines.filter((l) => l.level === "warning");
    assert.equal(warned.length, 1);
    assert.match(warned[0]!.msg, new RegExp(`container ${id}: process\\.capabilities\\.ambient: CAP_NET_BIND_SERVICE`));
  } finally {
    runtime("delete", "--force", id);
    rmSync(log, { force: true });
  }
});

test("run waits and exits with the container's code; run -d returns at once", { skip: needsRoot }, async () => {
  const spec = f.spec(["sh", "-c", "exit 3"]);
  writeFileSync(join(f.bundle, "config.json"), JSON.stringify(spec));
  const id = f.id("run");
  const r = runtime("run", "--bundle", f.bundle, id);
  assert.equal(r.code, 3, r.err);
  assertNoContainer(id); // a foreground run deletes its container

  writeFileSync(join(f.bundle, "config.json"), JSON.stringify(f.spec(["sleep", "1000"])));
  const id2 = f.id("detach");
  assert.equal(runtime("run", "-d", "--bundle", f.bundle, id2).code, 0);
  assert.equal(JSON.parse(runtime("state", id2).out).status, "running");
  assert.equal(runtime("delete", "-f", id2).code, 0);

  const badId = f.id("bad");
  const bad = runtime("create", "--bundle", join(f.bundle, "nope"), badId);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /config\.json does not exist/);
  assertNoContainer(badId);
});

/** Nothing of the container is left: no state, no directory under the root, no cgroup. */
function assertNoContainer(id: string): void {
  assert.equal(runtime("state", id).code, 1, `state of ${id}`);
  assert.equal(existsSync(join(f.runDir, id)), false, `state dir of ${id}`);
  assert.equal(openCgroupDriver().exists(id), false, `cgroup of ${id}`);
}

test("OCI create builds the container (a setup error fails create); no linux.seccomp means no filter, as in runc", { skip: needsRoot }, async () => {
  const status = "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status";
  const spec = f.spec(["sh", "-c", status]);
  writeFileSync(join(f.bundle, "config.json"), JSON.stringify(spec));
  const id = f.id("noseccomp");
  const pidFile = join(f.bundle, "pid-created");
  let r = runtime("create", "--bundle", f.bundle, "--pid-file", pidFile, id);
  assert.equal(r.code, 0, r.err);
  try {
    // "created": the init already stands on the container's root, its program not started.
    const pid = Number(readFileSync(pidFile, "utf8"));
    assert.ok(readdirSync(`/proc/${pid}/root`).includes("bin"));
    assert.equal(readlinkSync(`/proc/${pid}/exe`).includes("node"), true, "still the init, not the program");
  } finally {
    assert.equal(runtime("delete", "--force", id).code, 0);
  }
  // The container's stdout is run's own, which runtimeCli gives a file.
  const runToFile = (runId: string): string => {
    const res = runtime("run", "--bundle", f.bundle, runId);
    assert.equal(res.code, 0, res.err);
    return res.out;
  };
  assert.match(runToFile(f.id("noseccomp-run")), /^Seccomp:\s+0$/m);
  spec.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW" };
  writeFileSync(join(f.bundle, "config.json"), JSON.stringify(spec));
  assert.match(runToFile(f.id("seccomp-run")), /^Seccomp:\s+2$/m);
  // A cwd missing from the rootfs fails create itself, and leaves no container.
  writeFileSync(join(f.bundle, "config.json"), JSON.stringify(f.spec(["/bin/true"], { cwd: "/no-such-dir" })));
  const bad = f.id("badcwd");
  r = runtime("create", "--bundle", f.bundle, bad);
  assert.equal(r.code, 1);
  assert.match(r.err, /chdir cwd/);
  assertNoContainer(bad);
});

test("an unmodified `runc spec` config (terminal set to false) runs under hostform-runtime", { skip: needsRoot || (spawnSync("runc", ["--version"]).status !== 0 && "runc is not installed") }, () => {
  const dir = join(f.bundle, "runc-spec");
  mkdirSync(dir);
  try {
    assert.equal(spawnSync("runc", ["spec", "--bundle", dir]).status, 0);
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as { process: { terminal: boolean; args: string[] }; root: { path: string } };
    config.process.terminal = false;
    assert.deepEqual(config.process.args, ["sh"]);
    config.root.path = f.rootfs;
    writeFileSync(join(f.bundle, "config.json"), JSON.stringify(config));
    // Its ambient capabilities (not inheritable) are skipped, its cgroup mount is made; sh reads
    // EOF from /dev/null and exits 0.
    const r = runtime("run", "--bundle", f.bundle, f.id("runcspec"));
    assert.equal(r.code, 0, r.err);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("list warns of a container whose record cannot be read, naming the file; delete --force clears it", { skip: needsRoot }, () => {
  const id = f.id("corrupt");
  mkdirSync(join(f.runDir, id), { recursive: true });
  const record = join(f.runDir, id, "state.json");
  writeFileSync(record, '{"ociVersion": "1.0.2", "id": ');
  const list = runtime("list", "--format", "json");
  assert.equal(list.code, 0, list.err);
  assert.match(list.err, new RegExp(`warning: cannot load container ${id}: ${record.replace(/[/.]/g, "\\$&")}: is not valid JSON`));
  assert.ok(!(JSON.parse(list.out) as Array<{ id: string }>).some((c) => c.id === id), "not listed as if it were whole");
  assert.match(runtime("state", id).err, /is not valid JSON/);
  assert.equal(runtime("delete", "--force", id).code, 0);
  assert.equal(existsSync(join(f.runDir, id)), false);
});

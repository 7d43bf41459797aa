// Resource attacks from inside a default container: a fork bomb held by pids.max and a memory hog
// OOM-killed inside its own memory cgroup. The host (this test process) must stay able to fork and
// allocate, and the container must be killable and fully removable afterwards.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { DefaultContainers } from "./defaultContainer";
import { hostBusybox } from "./busyboxRoot";

const skip = needsRoot || (hostBusybox() === undefined && "busybox-static is not installed");
const prefix = testPrefix("seclim");
let h: DefaultContainers;

before(() => {
  if (skip === false) h = new DefaultContainers(prefix);
});

after(async () => {
  await h?.close();
});

// Every container a test started is gone, with its cgroup and mounts, by the end of that test.
afterEach(() => h.assertNothingLeft());

/** Waits (no timing assertion: the machine is noisy) until the container wrote `line` to stdout. */
async function waitForLine(file: string, line: RegExp, what: string): Promise<string> {
  for (let i = 0; i < 500; i++) {
    const out = readFileSync(file, "utf8");
    if (line.test(out)) return out;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${what}: no ${line} in ${readFileSync(file, "utf8")}`);
}

/** The host can still fork and run a program. */
function hostForks(): boolean {
  return spawnSync("/bin/true").status === 0;
}

test("a fork bomb is held by pids.max, the host keeps forking, and the container dies when killed", { skip }, async () => {
  const max = 16;
  // The inner shell forks until fork fails, then dies (busybox sh exits on a failed fork); the outer
  // shell reports with builtins only (every fork is refused by then) and execs a sleep to stay up.
  const bomb = "n=0; while :; do sleep 600 & n=$((n+1)); echo $n > /tmp/forks; done";
  const script = `sh -c '${bomb}'; echo bomb-exit=$?; read n < /tmp/forks; echo forks=$n; exec sleep 600`;
  const s = await h.start(h.spec(["sh", "-c", script]), { pids: { max }, memory: { max: "64Mi", swapMax: 0 } });
  try {
    const out = await waitForLine(s.stdoutFile, /^forks=\d+$/m, "fork bomb");
    assert.match(out, /^bomb-exit=2$/m);
    assert.match(readFileSync(s.stderrFile, "utf8"), /^sh: can't fork: Resource temporarily unavailable$/m);
    // sh, inner sh, and one sleep per successful fork: never above pids.max.
    const forks = Number(/^forks=(\d+)$/m.exec(out)![1]);
    assert.ok(forks >= 1 && forks <= max - 2, `forks=${forks}`);
    const pids = h.driver.stats(s.cgroup).pids;
    assert.ok(pids !== undefined && pids.current <= max, JSON.stringify(pids));
    assert.ok((pids.limitHits ?? 0) >= 1, `pids.events max: ${JSON.stringify(pids)}`);
    const pidsDir = h.driver.paths(s.cgroup).v1.pids ?? h.driver.paths(s.cgroup).v2!;
    assert.equal(readFileSync(join(pidsDir, "pids.max"), "utf8").trim(), String(max));
    assert.ok(hostForks(), "the host can still fork");
    await h.driver.kill(s.cgroup);
    assert.deepEqual(await s.container.exited, { code: null, signal: "SIGKILL" });
    assert.deepEqual(h.driver.procs(s.cgroup), []);
  } finally {
    await h.remove(s.cgroup);
  }
  assert.equal(h.driver.exists(s.cgroup), false);
});

test("a memory hog is OOM-killed inside its cgroup; the container's PID 1 and the host are unharmed", { skip }, async () => {
  const limit = 32 * 1024 * 1024;
  // dd's block buffer is one allocation of bs bytes, filled (so charged) by the read from /dev/zero.
  const s = await h.start(h.spec(["sh", "-c", "dd if=/dev/zero of=/dev/null bs=128M count=1; echo dd=$?"]), { pids: { max: 16 }, memory: { max: limit, swapMax: 0 } });
  try {
    const exit = await s.container.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, "PID 1 (sh) survives: only the hog was killed");
    assert.equal(readFileSync(s.stdoutFile, "utf8"), "dd=137\n", "dd died of SIGKILL (128 + 9)");
    assert.equal(readFileSync(s.stderrFile, "utf8"), "Killed\n");
    const stats = h.driver.stats(s.cgroup);
    assert.equal(stats.memory?.oomKill, 1);
    assert.ok(stats.memory!.peak !== undefined && stats.memory!.peak <= limit, `peak ${stats.memory!.peak}`);
    const paths = h.driver.paths(s.cgroup);
    if (paths.v1.memory !== undefined) {
      assert.equal(Number(readFileSync(join(paths.v1.memory, "memory.limit_in_bytes"), "utf8")), limit);
      assert.match(readFileSync(join(paths.v1.memory, "memory.oom_control"), "utf8"), /^oom_kill 1$/m);
    } else {
      assert.match(readFileSync(join(paths.v2!, "memory.events"), "utf8"), /^oom_kill 1$/m);
    }
    // The host is unharmed: this process still allocates and touches 64 MiB (twice the container's limit) and forks.
    assert.equal(Buffer.alloc(64 * 1024 * 1024, 1).readUInt8(64 * 1024 * 1024 - 1), 1);
    assert.ok(hostForks());
  } finally {
    await h.remove(s.cgroup);
  }
  assert.equal(h.driver.exists(s.cgroup), false);
});

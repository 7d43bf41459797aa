// Differential tests: the same config.json under runc (/usr/sbin/runc) and under hostform
// (validateSpec + Launcher, the path the runtime takes), comparing what the container sees: its
// /proc/self/status credentials and security state, hostname, rlimits, the mount table's shape,
// two write probes, and the cgroup limits the host reads for its process.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Launcher } from "../../src/runtime/launcher";
import { RuntimeClient } from "../../src/runtime/client";
import { detectLayout } from "../../src/cgroup/layout";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { hostBusybox } from "../security/busyboxRoot";
import { adjustDefault, runcDefaultConfig, variants, type OciConfig } from "./bundles";
import { mountShape, sections } from "./normalize";
import { deleteRuntimeLeftovers, runUnderHostform, runUnderHostformRuntime, runUnderRunc, runtimeCliEntry, stopRuntimeSupervisor, type RunReport } from "./runtimes";

const runcMissing = (() => {
  try {
    execFileSync("runc", ["--version"], { stdio: "ignore" });
    return false;
  } catch {
    return "runc is not installed (apt-get install runc)";
  }
})();
const skip = needsRoot || runcMissing || (hostBusybox() === undefined && "busybox-static is not installed");
const prefix = testPrefix("diff");
let runcRoot = "";
/** --root of hostform-runtime (its supervisor's run dir). */
let cliRoot = "";
const cliEntry = runtimeCliEntry();
let hostDir = "";
let launcher: Launcher;
let base: OciConfig;
let runcDefault: OciConfig;
let seq = 0;

before(() => {
  if (skip !== false) return;
  runcRoot = mkdtempSync(join(tmpdir(), `${prefix}-runc-root-`));
  hostDir = mkdtempSync(join(tmpdir(), `${prefix}-data-`));
  launcher = new Launcher({ poolSize: 1 });
  if (cliEntry !== undefined) cliRoot = mkdtempSync(join(tmpdir(), `${prefix}-cli-root-`));
  runcDefault = runcDefaultConfig(prefix);
  base = adjustDefault(runcDefault, prefix);
});

after(async () => {
  await launcher?.close();
  if (runcRoot !== "") {
    // Any container a failed test left behind (normally none: each run deletes its own).
    for (const c of readdirSync(runcRoot)) execFileSync("runc", ["--root", runcRoot, "delete", "--force", c], { stdio: "ignore" });
    rmSync(runcRoot, { recursive: true, force: true });
  }
  if (hostDir !== "") rmSync(hostDir, { recursive: true, force: true });
  if (cliRoot !== "") {
    if (cliEntry !== undefined) deleteRuntimeLeftovers(cliEntry, cliRoot);
    await stopRuntimeSupervisor(cliRoot);
    rmSync(cliRoot, { recursive: true, force: true });
  }
});

/** Runs the config under runc and under hostform's Launcher, one after the other. */
async function both(config: OciConfig): Promise<{ runc: RunReport; hostform: RunReport }> {
  const n = seq++;
  const runc = await runUnderRunc(config, `${prefix}-r${n}`, runcRoot);
  const hostform = await runUnderHostform(config, `${prefix}-h${n}`, launcher);
  return { runc, hostform };
}

/** Asserts the two runs agree section by section; returns runc's sections for extra checks. */
function assertAgree(config: OciConfig, r: { runc: RunReport; hostform: RunReport }): Record<string, string[]> {
  const a = sections(r.runc.report);
  const b = sections(r.hostform.report);
  for (const s of ["status", "hostname", "limits", "probes"]) assert.deepEqual(b[s], a[s], `section ${s}`);
  const ro = config.linux.readonlyPaths ?? [];
  assert.deepEqual(mountShape(b.mounts ?? [], ro), mountShape(a.mounts ?? [], ro), "mount table shape");
  assert.deepEqual(r.hostform.cgroup, r.runc.cgroup, "cgroup limits");
  return a;
}

const field = (s: Record<string, string[]>, name: string): string => (s.status ?? []).find((l) => l.startsWith(`${name}:`))?.slice(name.length + 1).trim() ?? "";

/** What each bundle must show under both runtimes, beyond agreeing: proves the variant took effect. */
const expectations: Record<string, (s: Record<string, string[]>, r: RunReport) => void> = {
  default: (s) => {
    assert.equal(field(s, "CapEff"), "0000000020000420", "runc default: AUDIT_WRITE, KILL, NET_BIND_SERVICE");
    assert.equal(field(s, "NoNewPrivs"), "1");
    assert.deepEqual(s.hostname, [prefix]);
    assert.deepEqual(s.probes, ["mkdir=0", "touch=0"]);
  },
  "read-only root": (s) => assert.deepEqual(s.probes, [
    "mkdir: can't create directory '/tmp/probe-dir': Read-only file system", "mkdir=1", "touch: /probe-file: Read-only file system", "touch=1",
  ]),
  "custom capabilities": (s) => {
    assert.equal(field(s, "CapBnd"), "0000000000042023");
    assert.equal(field(s, "CapEff"), "0000000000002021");
    assert.equal(field(s, "CapAmb"), "0000000000002000");
  },
  rlimits: (s) => {
    assert.ok(s.limits!.some((l) => /^Max open files\s+256\s+512\s+files$/.test(l)));
    assert.ok(s.limits!.some((l) => /^Max processes\s+100\s+200\s+processes$/.test(l)));
  },
  "seccomp allow-list": (s) => {
    assert.equal(field(s, "Seccomp"), "2");
    assert.equal(field(s, "Seccomp_filters"), "1");
    assert.deepEqual(s.probes, ["mkdir: can't create directory '/tmp/probe-dir': Operation not permitted", "mkdir=1", "touch=0"]);
  },
  "user 1000": (s) => {
    assert.match(field(s, "Uid"), /^1000\s+1000\s+1000\s+1000$/);
    assert.equal(field(s, "Groups"), "10 100");
    assert.equal(field(s, "CapEff"), "0000000000000400", "NET_BIND_SERVICE through the ambient set");
  },
  "extra bind and tmpfs mounts": (s) => {
    assert.ok(s.mounts!.some((l) => / \/data ro,nosuid,nodev/.test(l)));
    assert.ok(s.mounts!.some((l) => / \/scratch rw,nosuid,nodev,noexec.* - tmpfs tmpfs rw,size=1024k/.test(l)));
  },
  "cgroup limits": (_s, r) => assert.deepEqual(r.cgroup, { memoryLimit: String(64 * 1024 * 1024), pidsMax: "50" }),
};

for (const name of ["default", "read-only root", "custom capabilities", "rlimits", "seccomp allow-list", "user 1000", "extra bind and tmpfs mounts", "cgroup limits"]) {
  test(`runc and hostform agree: ${name}`, { skip }, async () => {
    const v = variants(base, hostDir).find((x) => x.name === name);
    assert.ok(v !== undefined, name);
    // The whole OCI runtime path too (config.json from disk, the supervisor, the CLI's resources
    // conversion), run alongside: it spends most of its time starting Node processes.
    const viaCli = cliEntry === undefined ? undefined : runUnderHostformRuntime(v.config, `${prefix}-c${seq++}`, cliEntry, cliRoot);
    viaCli?.catch(() => undefined);
    const r = await both(v.config);
    const s = assertAgree(v.config, r);
    expectations[name]!(s, r.runc);
    if (viaCli === undefined) return;
    // As an OCI runtime, hostform-runtime follows config.json exactly: no linux.seccomp, no filter (as runc).
    assertAgree(v.config, { runc: r.runc, hostform: await viaCli });
  });
}

test("runc's own default capabilities (ambient without inheritable) start under both", { skip }, async () => {
  const config = adjustDefault(runcDefault, prefix);
  config.process.capabilities = structuredClone(runcDefault.process.capabilities);
  assert.ok((config.process.capabilities?.ambient ?? []).length > 0 && config.process.capabilities?.inheritable === undefined);
  const viaCli = cliEntry === undefined ? undefined : runUnderHostformRuntime(config, `${prefix}-c${seq++}`, cliEntry, cliRoot);
  viaCli?.catch(() => undefined);
  const r = await both(config);
  const s = assertAgree(config, r);
  // Neither raises them: the kernel refuses an ambient capability that is not inheritable.
  assert.equal(field(s, "CapAmb"), "0000000000000000");
  if (viaCli !== undefined) assertAgree(config, { runc: r.runc, hostform: await viaCli });
});

// Each test leaves no runc or hostform-runtime container, cgroup or mount of its runs: checked after
// every test, so a leak fails the test that made it, run alone or with the others.
afterEach(async () => {
  assert.deepEqual(readdirSync(runcRoot), [], "runc containers left");
  // Asked of the supervisor hostform-runtime used (in process: cheaper than one more CLI run per test).
  if (cliEntry !== undefined) assert.deepEqual((await new RuntimeClient({ runDir: cliRoot }).list()).map((c) => c.id), [], "hostform-runtime containers left");
  const layout = detectLayout();
  for (const mount of new Set([...Object.values(layout.v1Mounts), ...(layout.unifiedMount !== undefined ? [layout.unifiedMount] : [])])) {
    const leftovers = execFileSync("find", [mount, "-maxdepth", "3", "-type", "d", "-name", `${prefix}*`], { encoding: "utf8" }).trim();
    assert.equal(leftovers, "", `cgroups left in ${mount}`);
  }
  assert.deepEqual(readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(prefix)), [], "mounts left");
});

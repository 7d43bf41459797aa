// The device policy on the real kernel, through the driver (devices.allow/deny on a v1 host, the
// BPF filter on a v2 host): written and read back equal, enforced on a process in the cgroup, a rule
// loosened out of band reported by read and put back by the next apply. On a hybrid host the v2
// filter is also attached to the cgroup's copy in the unified hierarchy, where the kernel runs it too.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openCgroupDriver } from "../../src/cgroup/driver";
import { devicePolicyOf, type DevicePolicy } from "../../src/cgroup/devicePolicy";
import { diffLimits, type CgroupLimits } from "../../src/cgroup/spec";
import { devicesV2 } from "../../src/cgroup/v2/devices";
import { deviceProgram } from "../../src/cgroup/v2/deviceProgram";
import { defaultDeviceRules } from "../../src/runtime/deviceRules";
import {
  BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI, BPF_PROG_TYPE_CGROUP_DEVICE, attachProgram, detachProgram, loadProgram,
  openCgroupDir, programFdById, programInfo, queryPrograms, withFd,
} from "../../src/sys/bpf";
import { SysError } from "../../src/sys/errors";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { spawnWaiting } from "./children";

const driver = openCgroupDriver();
const route = driver.routes.devices;
const skip = needsRoot !== false ? needsRoot : route === undefined ? "this host has no devices controller and no cgroup2 hierarchy" : false;
const LIMITS: CgroupLimits = { devices: defaultDeviceRules() };
const WANT: DevicePolicy = devicePolicyOf(defaultDeviceRules(), "devices");

function scratch(t: { after(fn: () => Promise<void>): void }, what: string, limits?: CgroupLimits): string {
  const name = testPrefix(what);
  t.after(() => driver.delete(name));
  driver.create(name, limits);
  return name;
}

/**
 * Runs a shell in the cgroup: mknod of loop0 (b 7:0), tty0 (c 4:0) and a null device (c 1:3) in a
 * scratch directory, then opens of those and of /dev/null, /dev/zero, /dev/urandom. Each probe prints
 * name=ok or its error. The directory is under /dev: /tmp may be mounted nodev (the v2 VM's is), and
 * there every device open fails with EACCES before the device policy is asked.
 */
async function probe(t: { after(fn: () => void): void }, name: string): Promise<Record<string, string>> {
  const dir = mkdtempSync(join("/dev", `${testPrefix("dev")}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const open = (key: string, path: string, mode: string) => `if ( exec 3${mode}${path} ) 2>/dev/null; then echo ${key}=ok >&2; else ( exec 3${mode}${path} ) 2>&1 | sed 's/^.*: /${key}=/' >&2; fi`;
  const script = [
    `cd ${dir}`,
    `mknod loop0 b 7 0 2>/dev/null && echo mknod-loop=ok >&2 || echo mknod-loop=failed >&2`,
    `mknod tty0 c 4 0 2>/dev/null && echo mknod-tty=ok >&2 || echo mknod-tty=failed >&2`,
    `mknod null c 1 3`,
    open("loop", "loop0", "<"), open("tty0", "tty0", "<>"), open("own-null", "null", "<>"),
    open("null", "/dev/null", "<>"), open("zero", "/dev/zero", "<"), open("urandom", "/dev/urandom", "<"),
  ].join("; ");
  const kid = spawnWaiting(script);
  let err = "";
  kid.child.stderr!.on("data", (b: Buffer) => (err += b.toString()));
  try {
    await driver.addProcess(name, kid.pid);
    kid.go();
    await kid.exited;
  } finally {
    await kid.stop();
  }
  return Object.fromEntries(err.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

/** Denied by the policy: mknod allowed ("m" for any node), open refused with EPERM; the rest opens. */
function assertDockerPolicy(r: Record<string, string>): void {
  assert.equal(r["mknod-loop"], "ok", "mknod of any node is allowed, as in runc");
  assert.equal(r["mknod-tty"], "ok");
  assert.match(r.loop ?? "", /Operation not permitted/, "open of the host's loop0 is refused");
  assert.match(r.tty0 ?? "", /Operation not permitted/, "open of the host's tty0 is refused");
  assert.deepEqual([r.null, r.zero, r.urandom, r["own-null"]], ["ok", "ok", "ok", "ok"]);
}

test("Docker's device policy is written, read back equal and enforced", { skip }, async (t) => {
  const name = scratch(t, "dev-policy", LIMITS);
  assert.deepEqual(driver.read(name).devices, WANT);
  assert.deepEqual(diffLimits(driver.normalize(LIMITS), driver.read(name)), []);
  assertDockerPolicy(await probe(t, name));
});

test("without a device policy nothing is filtered (the probe itself can open loop0's node)", { skip }, async (t) => {
  // The control for the test above: were the probe's opens refused for another reason, the policy
  // test would prove nothing. A node made in the scratch directory opens (it is no nodev mount);
  // ENXIO/ENOENT from the loop driver are fine, EPERM is not.
  const name = scratch(t, "dev-none");
  const r = await probe(t, name);
  assert.equal(r["own-null"], "ok");
  assert.doesNotMatch(r.loop ?? "", /Operation not permitted|Permission denied/);
  assert.doesNotMatch(r.tty0 ?? "", /Operation not permitted|Permission denied/);
  assert.deepEqual([r.null, r.zero], ["ok", "ok"]);
});

test("v1: `echo a > devices.allow` is drift, named by read, and apply puts the policy back", { skip: skip || (route !== "v1" && "devices live in cgroup v2 on this host") }, async (t) => {
  const name = scratch(t, "dev-v1", LIMITS);
  const dir = driver.paths(name).v1.devices!;
  writeFileSync(join(dir, "devices.allow"), "a");
  const drift = diffLimits(driver.normalize(LIMITS), driver.read(name));
  assert.deepEqual(drift.map((d) => [d.field, d.live]), [["devices.default", "allow"], ["devices.exceptions", []]]);
  driver.apply(name, LIMITS);
  assert.deepEqual(driver.read(name).devices, WANT);
  // One exception widened out of band: only that is put back.
  writeFileSync(join(dir, "devices.allow"), "b 8:0 rwm");
  assert.ok(driver.read(name).devices!.exceptions.includes("b 8:0 rwm"));
  driver.apply(name, LIMITS);
  assert.deepEqual(driver.read(name).devices, WANT);
  assertDockerPolicy(await probe(t, name));
});

test("v1: a cgroup with nested cgroups cannot change its devices default: the error says so", { skip: skip || (route !== "v1" && "devices live in cgroup v2 on this host") }, (t) => {
  const name = scratch(t, "dev-nested");
  t.after(() => driver.delete(`${name}/child`));
  driver.create(`${name}/child`);
  assert.throws(() => driver.apply(name, LIMITS), (e: unknown) => e instanceof SysError && e.code === "EINVAL" && /cannot change: declare its device rules before anything is nested/.test(e.message));
});

/** The programs attached to a cgroup directory, by name. */
function attached(dir: string): string[] {
  return withFd(openCgroupDir(dir), (fd) => queryPrograms(fd, BPF_CGROUP_DEVICE, dir).map((id) => withFd(programFdById(id), (p) => programInfo(p).name)));
}

/** What someone else might do: detach every filter, or put an allow-all one of their own in its place. */
function tamper(dir: string, replaceWithOwn: boolean): void {
  withFd(openCgroupDir(dir), (cg) => {
    const ids = queryPrograms(cg, BPF_CGROUP_DEVICE, dir);
    if (replaceWithOwn) withFd(loadProgram(BPF_PROG_TYPE_CGROUP_DEVICE, deviceProgram({ default: "allow", exceptions: [] }), "GPL", "intruder"), (p) => attachProgram(cg, p, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI, dir));
    for (const id of ids) withFd(programFdById(id), (p) => detachProgram(cg, p, BPF_CGROUP_DEVICE, dir));
  });
}

/** The v2 controller on `dir`: attach, read back, drift when detached or replaced, repaired by apply. */
function exerciseFilter(dir: string, apply: () => void, read: () => DevicePolicy): void {
  apply();
  assert.deepEqual(attached(dir), ["hostform_dev"]);
  assert.deepEqual(read(), WANT);
  // Applied again unchanged: the same program stays (nothing reloaded or swapped).
  const before = withFd(openCgroupDir(dir), (fd) => queryPrograms(fd, BPF_CGROUP_DEVICE, dir));
  apply();
  assert.deepEqual(withFd(openCgroupDir(dir), (fd) => queryPrograms(fd, BPF_CGROUP_DEVICE, dir)), before);

  tamper(dir, false);
  assert.deepEqual(read(), { default: "allow", exceptions: [] }, "a detached filter reads as allow all");
  apply();
  assert.deepEqual(attached(dir), ["hostform_dev"]);
  assert.deepEqual(read(), WANT);

  tamper(dir, true);
  const live = read();
  assert.equal(live.default, "unknown");
  assert.match(live.exceptions.join(), /"intruder".*not the filter hostform attached/);
  apply();
  assert.deepEqual(attached(dir), ["hostform_dev"], "the foreign filter is detached once ours is attached");
  assert.deepEqual(read(), WANT);
}

test("v2: the filter is attached once, read back, and a detached or replaced filter is drift that apply repairs", { skip: skip || (route !== "v2" && "devices live in cgroup v1 on this host (the unified-hierarchy test covers the filter)") }, async (t) => {
  const name = scratch(t, "dev-v2", LIMITS);
  exerciseFilter(driver.paths(name).v2!, () => driver.apply(name, LIMITS), () => driver.read(name).devices!);
  const drift = () => diffLimits(driver.normalize(LIMITS), driver.read(name));
  tamper(driver.paths(name).v2!, true);
  assert.deepEqual(drift().map((d) => d.field), ["devices.default", "devices.exceptions"]);
  driver.apply(name, LIMITS);
  assert.deepEqual(drift(), []);
  assertDockerPolicy(await probe(t, name));
});

test("hybrid host: the v2 filter on the cgroup's unified-hierarchy copy is enforced by the kernel too", { skip: skip || (driver.layout.mode !== "hybrid" && "not a hybrid host") }, async (t) => {
  // No v1 device rules on this cgroup: whatever is refused below is refused by the BPF filter.
  const name = scratch(t, "dev-unified");
  const dir = driver.paths(name).v2!;
  exerciseFilter(dir, () => devicesV2.apply!(dir, WANT), () => devicesV2.read!(dir));
  assertDockerPolicy(await probe(t, name));
});

// Bad input and limits the host cannot enforce: each is refused with an error naming the field, and
// nothing is created.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { openCgroupDriver } from "../../src/cgroup/driver";
import { detectLayout, type CgroupLayout } from "../../src/cgroup/layout";
import { NotFoundError, SysError, UnsupportedError, ValidationError } from "../../src/sys/errors";
import { needsRoot, testPrefix } from "../../fixtures/prefix";

const layout = detectLayout();
const driver = openCgroupDriver();

function assertNothingMade(name: string, d = driver): void {
  const p = d.paths(name);
  for (const dir of [p.v2, ...Object.values(p.v1)]) if (dir !== undefined) assert.equal(existsSync(dir), false, `${dir} was created`);
}

test("bad sizes are ValidationErrors naming the field; nothing is created", { skip: needsRoot }, () => {
  const name = testPrefix("bad");
  for (const [max, pattern] of [
    ["12Q", /limits\.memory\.max: unknown unit "Q"/],
    ["-1", /limits\.memory\.max: "-1" is negative/],
    ["", /limits\.memory\.max: empty size/],
  ] as const) {
    assert.throws(() => driver.create(name, { memory: { max } }), (e: unknown) => e instanceof ValidationError && e.field === "limits.memory.max" && pattern.test(e.message));
  }
  assert.throws(() => driver.create(name, { cpu: { cores: "lots" } }), (e: unknown) => e instanceof ValidationError && e.field === "limits.cpu.cores");
  assert.throws(() => driver.create(name, { rdma: {} } as never), (e: unknown) => e instanceof ValidationError && e.field === "limits.rdma" && /unknown controller/.test(e.message));
  assertNothingMade(name);
});

test("bad names are refused before anything happens", () => {
  for (const bad of ["", "../x", "/abs", "a//b", "a/..", "cgroup.procs", "memory.max", "tasks"]) {
    assert.throws(() => driver.paths(bad), (e: unknown) => e instanceof ValidationError && e.field === "name", bad);
  }
});

test("a limit for a controller the host lacks is UnsupportedError naming the field, raised before creating", { skip: needsRoot }, () => {
  // This host's layout without any io controller: the driver must refuse io limits up front.
  const v1Mounts = { ...layout.v1Mounts };
  delete v1Mounts.blkio;
  const noIo: CgroupLayout = { ...layout, v1Mounts, v2Controllers: layout.v2Controllers.filter((c) => c !== "io") };
  const d = openCgroupDriver(noIo);
  assert.equal(d.routes.io, undefined);
  const name = testPrefix("noio");
  assert.throws(() => d.create(name, { pids: { max: 10 }, io: { weight: 100 } }), (e: unknown) => e instanceof UnsupportedError && /^limits\.io: this host has no io \(v2\) or blkio \(v1\) controller/.test(e.message));
  assertNothingMade(name, d);
});

test("memory.high on a v1 host is UnsupportedError naming the field", { skip: needsRoot || (driver.routes.memory !== "v1" ? "memory is not on v1 here" : false) }, () => {
  const name = testPrefix("high");
  assert.throws(() => driver.create(name, { memory: { high: "1Gi" } }), (e: unknown) => e instanceof UnsupportedError && /limits\.memory\.high: cgroup v1 has no memory\.high/.test(e.message));
  assertNothingMade(name);
});

test("a value the kernel refuses leaves nothing half-made and names the file", { skip: needsRoot || (driver.routes.cpuset === undefined ? "no cpuset controller" : false) }, () => {
  const name = testPrefix("refused");
  // CPU 4000 exists on no machine this runs on: the kernel answers EINVAL (v2) or ERANGE (v1).
  assert.throws(
    () => driver.create(`${name}/inner`, { pids: { max: 5 }, cpuset: { cpus: "4000" } }),
    (e: unknown) => e instanceof SysError && ["EINVAL", "ERANGE"].includes(e.code) && /^apply limits to cgroup .*\/inner: write .*cpuset\.cpus: E/.test(e.message),
  );
  assertNothingMade(name);
});

test("apply to a cgroup that does not exist is a NotFoundError naming it", { skip: needsRoot }, () => {
  const name = testPrefix("absent");
  assert.throws(() => driver.apply(name, { pids: { max: 3 } }), (e: unknown) => e instanceof NotFoundError && e.kind === "cgroup" && e.id === `hostform/${name}`);
  assertNothingMade(name);
});

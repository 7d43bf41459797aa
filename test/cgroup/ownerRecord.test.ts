// The owner record of a cgroup: a trusted.* extended attribute on its directory in every hierarchy
// (v1 controllers, the cgroup2 one), read back by the driver, gone with the cgroup.
import { test } from "node:test";
import assert from "node:assert/strict";
import { openCgroupDriver } from "../../src/cgroup/driver";
import { NotFoundError } from "../../src/sys/errors";
import { getXattr } from "../../src/sys/xattr";
import { needsRoot, testPrefix } from "../../fixtures/prefix";

const driver = openCgroupDriver();
const OWNER = { stack: "hostform-test/cgroup", resource: "hostform:Cgroup::owned" };

test("setOwner records the owner in every hierarchy; owner reads it; it goes with the cgroup", { skip: needsRoot }, async () => {
  const name = testPrefix("owner");
  assert.throws(() => driver.setOwner(name, OWNER), (e: unknown) => e instanceof NotFoundError && e.kind === "cgroup");
  driver.create(name, { pids: { max: 10 } });
  try {
    assert.equal(driver.owner(name), undefined, "a cgroup made without an owner has none");
    driver.setOwner(name, OWNER);
    assert.deepEqual(driver.owner(name), OWNER);
    const p = driver.paths(name);
    const dirs = [...new Set([...(p.v2 !== undefined ? [p.v2] : []), ...Object.values(p.v1)])];
    assert.ok(dirs.length > 0);
    for (const dir of dirs) assert.deepEqual(JSON.parse(getXattr(dir, "trusted.hostform.owner") ?? "null"), OWNER, dir);
    // An import's takeover replaces it.
    const other = { ...OWNER, stack: "hostform-test/other" };
    driver.setOwner(name, other);
    assert.deepEqual(driver.owner(name), other);
  } finally {
    await driver.delete(name);
  }
  driver.create(name);
  try {
    assert.equal(driver.owner(name), undefined, "a cgroup made again under the name has no record left over");
  } finally {
    await driver.delete(name);
  }
});

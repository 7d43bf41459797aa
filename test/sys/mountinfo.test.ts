// The one mountinfo reader: fields, optional fields and octal escapes, on a fixture and on this host.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseMountinfo, readMountinfo } from "../../src/sys/mountinfo";

const FIXTURE = [
  "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw",
  "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:11 - cgroup cgroup rw,cpu,cpuacct",
  "31 25 0:27 / /sys/fs/cgroup/unified rw,nosuid master:3 - cgroup2 cgroup2 rw,nsdelegate",
  "40 22 8:1 /srv/a\\040b /mnt/with\\040space\\134x rw,relatime - ext4 /dev/sda1 rw",
  "not a mount line",
].join("\n");

test("parseMountinfo reads every field, the optional ones and the escapes", () => {
  const m = parseMountinfo(FIXTURE);
  assert.equal(m.length, 4);
  assert.deepEqual(m[0], {
    id: 22, parentId: 1, root: "/", mountPoint: "/proc", options: ["rw", "nosuid", "nodev", "noexec", "relatime"],
    optional: ["shared:5"], fstype: "proc", source: "proc", superOptions: ["rw"],
  });
  assert.deepEqual(m[1]?.superOptions, ["rw", "cpu", "cpuacct"]);
  assert.deepEqual(m[2]?.optional, ["master:3"]);
  assert.equal(m[3]?.mountPoint, "/mnt/with space\\x");
  assert.equal(m[3]?.root, "/srv/a b");
  assert.deepEqual(m[3]?.optional, []);
});

test("readMountinfo lists this process's root and /proc", () => {
  const m = readMountinfo();
  assert.ok(m.some((e) => e.mountPoint === "/"));
  assert.ok(m.some((e) => e.mountPoint === "/proc" && e.fstype === "proc"));
});

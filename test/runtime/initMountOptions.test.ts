import { MOUNT_ATTR_NOATIME, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY, MOUNT_ATTR__ATIME } from "../../src/sys/constants";
import { test } from "node:test";
import assert from "node:assert/strict";
import { MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_RELATIME, MS_SHARED } from "../../src/sys/constants";
import { MOUNT_FLAG_OPTIONS } from "../../src/runtime/spec";
import { parseMountOptions } from "../../src/runtime/init/mountOptions";

test("flag options become MS_* flags; the rest is the filesystem's data string", () => {
  const o = parseMountOptions({ destination: "/dev", type: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] });
  assert.equal(o.flags & MS_NOSUID, MS_NOSUID);
  assert.equal(o.data, "mode=755,size=65536k");
  assert.equal(o.bind, false);
  const none = parseMountOptions({ destination: "/proc", type: "proc" });
  assert.deepEqual(none, { flags: 0, propagation: [], data: null, bind: false, recursive: false, copyUp: false, recursiveSet: 0, recursiveClear: 0 });
  // tmpcopyup is runc's extension, never a filesystem option.
  const up = parseMountOptions({ destination: "/tmp", type: "tmpfs", options: ["tmpcopyup", "mode=1777"] });
  assert.deepEqual({ copyUp: up.copyUp, data: up.data }, { copyUp: true, data: "mode=1777" });
});

test("options apply left to right: a later rw clears an earlier ro, and the other way round", () => {
  const flags = (options: string[]) => parseMountOptions({ destination: "/x", type: "tmpfs", options }).flags;
  assert.equal(flags(["ro", "nosuid", "nodev", "noexec"]), MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
  assert.equal(flags(["ro", "rw"]), 0);
  assert.equal(flags(["rw", "ro"]), MS_RDONLY);
  assert.equal(flags(["relatime", "norelatime"]) & MS_RELATIME, 0);
});

test("bind and rbind make a bind mount of any type; rbind is recursive; no MS_BIND flag is left in flags", () => {
  assert.deepEqual(parseMountOptions({ destination: "/x", type: "bind", source: "/s" }), { flags: 0, propagation: [], data: null, bind: true, recursive: false, copyUp: false, recursiveSet: 0, recursiveClear: 0 });
  const r = parseMountOptions({ destination: "/x", type: "none", source: "/s", options: ["rbind", "ro"] });
  assert.equal(r.bind, true);
  assert.equal(r.recursive, true);
  assert.equal(r.flags, MS_RDONLY);
  assert.equal(r.flags & MS_BIND, 0);
});

test("propagation options are kept apart, in order", () => {
  const o = parseMountOptions({ destination: "/x", type: "bind", source: "/s", options: ["rprivate", "shared"] });
  assert.deepEqual(o.propagation, [MS_PRIVATE | MS_REC, MS_SHARED]);
  assert.equal(o.flags, 0);
  assert.equal(o.data, null);
});

test("every option validateSpec takes for a flag is parsed as one: none leaks into the filesystem data", () => {
  for (const name of MOUNT_FLAG_OPTIONS) {
    assert.equal(parseMountOptions({ destination: "/x", type: "tmpfs", options: [name] }).data, null, name);
  }
  assert.equal(parseMountOptions({ destination: "/x", type: "tmpfs", options: ["nosuchflag"] }).data, "nosuchflag");
});

test("the recursive options (rro, rnosuid, ratime...) become mount_setattr flags for the whole tree, read left to right", () => {
  const r = parseMountOptions({ destination: "/x", type: "bind", source: "/s", options: ["rbind", "rro", "rnosuid", "rnoatime"] });
  assert.equal(r.recursiveSet, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME);
  assert.equal(r.recursiveClear, MOUNT_ATTR__ATIME);
  const undone = parseMountOptions({ destination: "/x", type: "bind", source: "/s", options: ["rro", "rrw"] });
  assert.deepEqual({ set: undone.recursiveSet, clear: undone.recursiveClear }, { set: 0, clear: MOUNT_ATTR_RDONLY });
  assert.throws(() => parseMountOptions({ destination: "/x", type: "bind", source: "/s", options: ["rbind", "nosuchopt"] }), /mounts \(\/x\): 'nosuchopt' is not a bind mount option/);
});

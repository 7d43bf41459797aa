// The features document against what hostform really does (every mount option is consumed by the
// init, every namespace passes validateSpec) and against runc's own `runc features` on this host.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { featuresDocument, type FeaturesDocument } from "../../src/runtime/features";
import { parseMountOptions } from "../../src/runtime/init/mountOptions";
import { validateSpec } from "../../src/runtime/spec";
import { defaultSpec } from "../../src/runtime/specgen/defaults";
import { ValidationError } from "../../src/sys/errors";

const runc = spawnSync("runc", ["features"], { encoding: "utf8" });
const runcDoc = runc.status === 0 ? (JSON.parse(runc.stdout) as FeaturesDocument) : undefined;
const noRunc = runcDoc === undefined ? "runc is not installed (apt-get install runc)" : false;

test("every mount option listed is one the init consumes itself, none reaches mount(2) as data", () => {
  const doc = featuresDocument();
  assert.ok(doc.mountOptions.includes("tmpcopyup") && doc.mountOptions.includes("rbind"));
  for (const o of doc.mountOptions) assert.equal(parseMountOptions({ destination: "/x", type: "tmpfs", options: [o] }).data, null, o);
  assert.deepEqual(doc.mountOptions, [...doc.mountOptions].sort());
});

test("every namespace listed is accepted by validateSpec, and only those", () => {
  const doc = featuresDocument();
  for (const type of ["cgroup", "ipc", "mount", "network", "pid", "user", "uts", "time"]) {
    const s = defaultSpec({ rootfs: "/r", args: ["/bin/true"] });
    if (!s.linux!.namespaces!.some((n) => n.type === type)) s.linux!.namespaces!.push({ type } as never);
    // A new user namespace needs its mappings to be a whole spec.
    if (type === "user") s.linux!.uidMappings = s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    let accepted = true;
    try {
      validateSpec(s);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      accepted = false;
    }
    assert.equal(doc.linux.namespaces.includes(type), accepted, type);
  }
});

test("the document has runc's shape and agrees with `runc features` where hostform does the same", { skip: noRunc }, () => {
  const doc = featuresDocument();
  const r = runcDoc!;
  assert.deepEqual(Object.keys(doc).sort(), Object.keys(r).sort());
  assert.deepEqual(Object.keys(doc.linux).sort(), Object.keys(r.linux).sort());
  assert.deepEqual(Object.keys(doc.linux.cgroup).sort(), Object.keys(r.linux.cgroup).sort());
  assert.deepEqual(doc.hooks, r.hooks);
  assert.deepEqual(doc.linux.capabilities, r.linux.capabilities);
  assert.deepEqual(doc.linux.namespaces, r.linux.namespaces);
  // idmap and ridmap came with runc 1.2 (this host's runc may be older).
  assert.deepEqual(doc.mountOptions.filter((o) => !r.mountOptions.includes(o) && o !== "idmap" && o !== "ridmap"), [], "no option runc does not know either");
  // The recursive attributes (rro, rnosuid, ...), with mount_setattr as runc applies them.
  assert.deepEqual(r.mountOptions.filter((o) => /^r(ro|rw|nosuid|suid|nodev|dev|noexec|exec)$/.test(o) && !doc.mountOptions.includes(o)), []);
  assert.deepEqual(doc.linux.seccomp.operators, r.linux.seccomp.operators);
  assert.deepEqual(doc.linux.seccomp.actions, r.linux.seccomp.actions!.filter((a) => a !== "SCMP_ACT_NOTIFY"));
  assert.deepEqual(r.linux.seccomp.archs!.filter((a) => !doc.linux.seccomp.archs!.includes(a)), [], "every architecture runc adds, hostform adds too");
  assert.equal(doc.annotations["io.github.seccomp.libseccomp.version"], r.annotations["io.github.seccomp.libseccomp.version"], "the same libseccomp");
  assert.deepEqual([doc.linux.cgroup.systemd, doc.linux.apparmor.enabled, doc.linux.selinux.enabled], [false, false, false]);
});

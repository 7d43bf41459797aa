import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateSpec } from "../../src/runtime/spec";
import { defaultSpec } from "../../src/runtime/specgen/defaults";
import { resolveInRoot } from "../../src/runtime/rootPath";
import { ValidationError } from "../../src/sys/errors";
import { testPrefix } from "../../fixtures/prefix";

function rejects(input: unknown, field: string, message: RegExp): void {
  assert.throws(() => validateSpec(input), (e: unknown) => e instanceof ValidationError && e.field === field && message.test(e.message));
}

test("defaultSpec validates and carries Docker's defaults", () => {
  const s = validateSpec(defaultSpec({ rootfs: "/r", args: ["/bin/true"] }));
  assert.equal(s.process.capabilities?.bounding?.length, 14);
  assert.equal(s.process.noNewPrivileges, true);
  assert.ok(s.linux?.maskedPaths?.includes("/proc/kcore"));
  assert.ok(s.linux?.readonlyPaths?.includes("/proc/sys"));
  assert.deepEqual(s.mounts?.map((m) => m.destination), ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"]);
});

test("runc's own `runc spec` config is accepted, its terminal and cgroup mount included", { skip: spawnSync("runc", ["--version"]).status !== 0 && "runc is not installed" }, () => {
  const dir = mkdtempSync(join(tmpdir(), `${testPrefix("spec")}-`));
  try {
    assert.equal(spawnSync("runc", ["spec", "--bundle", dir]).status, 0);
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as { process: { terminal: boolean; consoleSize?: unknown }; mounts: { type: string }[] };
    assert.equal(config.process.terminal, true);
    config.process.consoleSize = { height: 30, width: 100 };
    const s = validateSpec(config);
    assert.equal(s.process.terminal, true);
    assert.deepEqual(s.process.consoleSize, { height: 30, width: 100 });
    config.process.consoleSize = { height: -1, width: 100 };
    rejects(config, "process.consoleSize.height", /between 0 and 65535/);
    assert.ok(s.mounts?.some((m) => m.type === "cgroup" && m.destination === "/sys/fs/cgroup"));
    assert.equal(s.root.path, "rootfs");
    assert.equal(s.process.rlimits?.[0]?.type, "RLIMIT_NOFILE");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("unsupported and bad fields are named, never ignored", () => {
  const base = (): Record<string, unknown> => JSON.parse(JSON.stringify(defaultSpec({ rootfs: "/r", args: ["sh"] }))) as Record<string, unknown>;
  const withLinux = (extra: Record<string, unknown>): unknown => {
    const s = base();
    s.linux = { ...(s.linux as object), ...extra };
    return s;
  };
  rejects(withLinux({ uidMappings: [] }), "linux.uidMappings", /needs a user namespace/);
  rejects(withLinux({ sysctl: { "kernel.panic": "1" } }), "linux.sysctl.kernel.panic", /not a namespaced sysctl/);
  // linux.devices is supported now: a bad entry is named by its field.
  rejects(withLinux({ devices: [{ path: "dev/fuse", type: "c", major: 10, minor: 229 }] }), "linux.devices[0].path", /not an absolute path/);
  rejects(withLinux({ devices: [{ path: "/dev/fuse", type: "x", major: 10, minor: 229 }] }), "linux.devices[0].type", /not a device type/);
  const s = base();
  (s.process as Record<string, unknown>).apparmorProfile = "x";
  rejects(s, "process.apparmorProfile", /AppArmor/);
  const caps = base();
  ((caps.process as Record<string, unknown>).capabilities as Record<string, unknown>).bounding = ["CAP_NOPE"];
  rejects(caps, "process.capabilities.bounding", /unknown capability 'CAP_NOPE'/);
  const user = base();
  (user.process as Record<string, unknown>).user = { uid: -1, gid: 0 };
  rejects(user, "process.user.uid", /integer id/);
  const host = base();
  host.linux = { ...(host.linux as object), namespaces: [{ type: "pid" }, { type: "mount" }] };
  rejects(host, "hostname", /uts namespace/);
  rejects({ ...base(), mounts: [{ destination: "/x", type: "overlay", source: "o" }] }, "mounts[0].type", /'overlay' is not supported/);
  rejects({ ...base(), mounts: [{ destination: "relative", type: "tmpfs" }] }, "mounts[0].destination", /absolute/);
});

test("resolveInRoot keeps symlinks inside the rootfs", () => {
  const root = mkdtempSync(join(tmpdir(), `${testPrefix("rootpath")}-`));
  try {
    mkdirSync(join(root, "real"));
    symlinkSync("/etc", join(root, "abs"));
    symlinkSync("../../../real", join(root, "rel"));
    assert.equal(resolveInRoot(root, "/abs/passwd"), join(root, "etc", "passwd"));
    assert.equal(resolveInRoot(root, "/rel/x"), join(root, "real", "x"));
    assert.equal(resolveInRoot(root, "/../../x"), join(root, "x"));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("every namespace may be joined by path, mount too; a spec without a namespace list is valid (runc's rule)", () => {
  const base = defaultSpec({ rootfs: "/r", args: ["sh"] });
  delete base.hostname;
  base.linux!.namespaces = base.linux!.namespaces!.map((n) => (n.type === "mount" ? n : { type: n.type, path: `/run/hostform/ns/pod/${n.type}` }));
  const s = validateSpec(base);
  assert.deepEqual(s.linux?.namespaces?.filter((n) => n.path !== undefined).map((n) => n.type).sort(), ["cgroup", "ipc", "network", "pid", "uts"]);
  const mnt = structuredClone(base);
  mnt.linux!.namespaces = mnt.linux!.namespaces!.map((n) => (n.type === "mount" ? { type: "mount", path: "/proc/1/ns/mnt" } : n));
  assert.equal(validateSpec(mnt).linux?.namespaces?.find((n) => n.type === "mount")?.path, "/proc/1/ns/mnt");
  const none = structuredClone(base);
  delete none.linux!.namespaces;
  assert.equal(validateSpec(none).linux?.namespaces, undefined);
  // A hostname with a joined uts namespace would rename every member of the pod.
  rejects({ ...base, hostname: "x" }, "hostname", /new uts namespace/);
});


test("properties the runtime-spec does not define are ignored, as it requires; a spec field hostform does not honour is still refused by name", () => {
  const s = defaultSpec({ rootfs: "/r", args: ["/bin/true"] }) as unknown as Record<string, Record<string, unknown>>;
  const extended = {
    ...s,
    "io.example.future": { anything: 1 },
    process: { ...s.process, futureKnob: true },
    linux: { ...s.linux, futureKnob: "x" },
    mounts: (s.mounts as unknown as Record<string, unknown>[]).map((m, i) => (i === 0 ? { ...m, futureKnob: 1 } : m)),
  };
  const v = validateSpec(extended);
  assert.equal((v as unknown as Record<string, unknown>)["io.example.future"], undefined, "an ignored property is not carried into the spec");
  assert.equal((v.process as unknown as Record<string, unknown>).futureKnob, undefined);
  rejects({ ...extended, domainname: "example.org" }, "domainname", /not supported yet/);
  rejects({ ...extended, linux: { ...s.linux, netDevices: {} } }, "linux.netDevices", /not supported yet/);
});

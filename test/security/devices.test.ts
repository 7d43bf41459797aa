// Host devices from inside containers. A default Container keeps CAP_MKNOD (one of Docker's 14), so
// it can make a node for any device: the device policy (deny all, then Docker's list) is what stops
// it opening the host's loop0 (b 7:0), tty0 (c 4:0), sda (b 8:0) or /dev/mem (c 1:1), while /dev/null,
// /dev/zero, /dev/urandom and a pty work. The same holds under an unmodified `runc spec` bundle given
// CAP_MKNOD and run by hostform-runtime, and matches what runc itself does with that bundle. Runs on
// the host (v1 devices controller) and in the v2 VM (the BPF filter).
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateSpec } from "../../src/runtime/specgen/generate";
import type { ContainerDevice } from "../../src/runtime/specgen/config";
import { RuntimeClient } from "../../src/runtime/client";
import { pidAlive, supervisorPidIn, until } from "../runtime/supervisorFixture";
import { defaultDeviceRules } from "../../src/runtime/deviceRules";
import { ValidationError } from "../../src/sys/errors";
import { containerLimits } from "../../providers/impl/v1/containerDevices";
import { RUNC_SPEC_CONFIG } from "../../fixtures/runcSpec";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { DEFAULT_LIMITS, DefaultContainers } from "./defaultContainer";
import { hostBusybox, makeFullBusyboxBundle } from "./busyboxRoot";

const skip = needsRoot || (hostBusybox() === undefined && "busybox-static is not installed");
const prefix = testPrefix("devsec");
let h: DefaultContainers;

before(() => {
  if (skip === false) h = new DefaultContainers(prefix);
});
after(async () => {
  await h?.close();
});
afterEach(() => h?.assertNothingLeft());

/** A probe line per node: name=ok, or the shell's error for it ("Operation not permitted"). */
function openProbe(key: string, path: string, mode: "<" | ">" | "<>"): string {
  return `if ( exec 3${mode}${path} ) 2>/dev/null; then echo ${key}=ok; else ( exec 3${mode}${path} ) 2>&1 | sed 's/^.*: /${key}=/'; fi`;
}

/** mknod then open of loop0, tty0, sda and /dev/mem, then the nodes every program needs. */
const ATTACK = [
  "mknod /dev/hf-loop0 b 7 0 && echo mknod=ok",
  "mknod /dev/hf-tty0 c 4 0",
  "mknod /dev/hf-sda b 8 0",
  "mknod /dev/hf-mem c 1 1",
  openProbe("loop0", "/dev/hf-loop0", "<"),
  openProbe("tty0", "/dev/hf-tty0", "<>"),
  openProbe("sda", "/dev/hf-sda", "<"),
  openProbe("mem", "/dev/hf-mem", "<"),
  "head -c 1 /dev/zero | wc -c | sed 's/^ */zero=/'",
  "head -c 4 /dev/urandom | wc -c | sed 's/^ */urandom=/'",
  "echo x > /dev/null && echo null=ok",
  openProbe("ptmx", "/dev/ptmx", "<>"),
].join("; ");

function lines(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of stdout.trim().split("\n")) if (l.includes("=")) out[l.slice(0, l.indexOf("="))] = l.slice(l.indexOf("=") + 1).trim();
  return out;
}

const DENIED = "Operation not permitted";
const EXPECTED = { mknod: "ok", loop0: DENIED, tty0: DENIED, sda: DENIED, mem: DENIED, zero: "1", urandom: "4", null: "ok", ptmx: "ok" };

/** Runs a script in a container as the Container resource makes it: its spec and its cgroup limits. */
async function inContainer(script: string, devices?: ContainerDevice[]): Promise<Record<string, string>> {
  const config = { rootfs: h.rootfs, command: ["sh", "-c", script], hostname: "devices", ...(devices !== undefined ? { devices } : {}) };
  const r = await h.runSpec(generateSpec(config), containerLimits({ limits: DEFAULT_LIMITS, ...(devices !== undefined ? { devices } : {}) }));
  assert.equal(r.code, 0, r.stderr);
  return lines(r.stdout);
}

test("a default Container can mknod but not open the host's loop0, tty0, sda or /dev/mem; null, zero, urandom and a pty work", { skip }, async () => {
  assert.deepEqual(await inContainer(ATTACK), EXPECTED);
});

test("a device passed in is created in the container and allowed with just its permissions", { skip: skip || (!existsSync("/dev/tty0") && "this host has no /dev/tty0") }, async () => {
  const script = [openProbe("read", "/dev/console0", "<"), openProbe("write", "/dev/console0", ">"), "ls -l /dev/console0 | sed 's/^\\(.\\).* \\([0-9]*\\), *\\([0-9]*\\) .*/node=\\1 \\2:\\3/'"].join("; ");
  assert.deepEqual(await inContainer(script, [{ path: "/dev/tty0", permissions: "r", containerPath: "/dev/console0" }]), { read: "ok", write: DENIED, node: "c 4:0" });
});

test("a device input names the field and the fix when the node is missing, not a device, or the permissions are bad", { skip }, () => {
  const field = (f: string, re: RegExp) => (e: unknown) => e instanceof ValidationError && e.field === f && re.test(e.message);
  const spec = (devices: unknown) => generateSpec({ rootfs: h.rootfs, command: ["sh"], devices: devices as ContainerDevice[] });
  assert.throws(() => spec([{ path: "/dev/hostform-no-such-node" }]), field("devices[0].path", /does not exist on this host.*\/dev\/fuse/));
  assert.throws(() => spec([{ path: "/dev/null" }, { path: "/proc/version" }]), field("devices[1].path", /is not a device node/));
  assert.throws(() => spec([{ path: "/dev/null", permissions: "rwx" }]), field("devices[0].permissions", /not a set of device permissions.*r \(read\), w \(write\) and m \(mknod\)/));
  assert.throws(() => spec([{ path: "/dev/null", bogus: 1 }]), field("devices[0].bogus", /unknown device field/));
  assert.throws(() => containerLimits({ devices: [{ path: "dev/null" }] }), field("devices[0].path", /absolute path/));
});

test("where the device policy refuses mknod of a linux.devices node, the host's node is bind-mounted instead, as runc does", { skip }, async () => {
  const spec = generateSpec({ rootfs: h.rootfs, command: ["sh", "-c", `grep -c ' /dev/zero ' /proc/self/mountinfo | sed 's/^/mounts=/'; ${openProbe("zero", "/dev/zero", "<")}`], hostname: "devices" });
  spec.linux = { ...spec.linux, devices: [{ path: "/dev/zero", type: "c", major: 1, minor: 5, fileMode: 0o666 }] };
  // Docker's list without "m" for character nodes nor for 1:5: the init's mknod of 1:5 is refused (EPERM).
  const rules = [...defaultDeviceRules().filter((r) => !(r.type === "c" && r.access === "m")), { allow: false, type: "c" as const, major: 1, minor: 5, access: "m" }];
  const r = await h.runSpec(spec, { ...DEFAULT_LIMITS, devices: rules });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lines(r.stdout), { mounts: "1", zero: "ok" });
});

/** `runc spec`'s config, given CAP_MKNOD, a script for sh, and terminal off (a terminal needs a console socket to go to). */
function runcBundleConfig(script: string): Record<string, unknown> {
  const c = JSON.parse(JSON.stringify(RUNC_SPEC_CONFIG)) as { process: { terminal: boolean; args: string[]; capabilities: Record<string, string[]> } };
  c.process.terminal = false;
  c.process.args = ["sh", "-c", script];
  for (const set of ["bounding", "effective", "permitted"]) c.process.capabilities[set]!.push("CAP_MKNOD");
  return c as unknown as Record<string, unknown>;
}

const runtimeMain = join(__dirname, "../../src/cli/runtimeMain.js");

const hasRunc = spawnSync("runc", ["--version"]).status === 0;

/** `hostform-runtime run` of a bundle with this config; the container's stdout. */
function underHostformRuntime(t: { after(fn: () => Promise<void>): void }, name: string, config: Record<string, unknown>): string {
  const id = `${prefix}-${name}`;
  const runDir = join(tmpdir(), `${id}-run`);
  const { bundle } = makeFullBusyboxBundle(id);
  t.after(async () => {
    // The supervisor writes into its run dir until it has exited: wait for that before removing it.
    const pid = supervisorPidIn(runDir);
    await new RuntimeClient({ runDir }).shutdownSupervisor().catch(() => undefined);
    if (pid !== undefined && !(await until(() => !pidAlive(pid), 5000))) process.kill(pid, "SIGKILL");
    rmSync(runDir, { recursive: true, force: true });
    rmSync(bundle, { recursive: true, force: true });
  });
  writeFileSync(join(bundle, "config.json"), JSON.stringify(config));
  const script = `require(${JSON.stringify(runtimeMain)}).main(process.argv.slice(1)).then((c) => process.exit(c), (e) => { console.error(e); process.exit(99); })`;
  // The container writes to the caller's fds through /proc/<pid>/fd: a file, as a tool would pass.
  const outFile = join(bundle, "stdout");
  const fd = openSync(outFile, "w+");
  let r;
  try {
    r = spawnSync(process.execPath, ["-e", script, "--", "--root", runDir, "run", "--bundle", bundle, id], { stdio: ["ignore", fd, "pipe"], encoding: "utf8", timeout: 60_000, env: { ...process.env, HOSTFORM_RUN_DIR: runDir } });
  } finally {
    closeSync(fd);
  }
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(outFile, "utf8");
}

/** `runc run` of a bundle with this config (its cgroup under a prefixed path, removed on delete); its stdout. */
function underRunc(t: { after(fn: () => void): void }, name: string, config: Record<string, unknown>): string {
  const id = `${prefix}-runc-${name}`;
  const root = join(tmpdir(), `${id}-root`);
  const { bundle } = makeFullBusyboxBundle(id);
  t.after(() => {
    spawnSync("runc", ["--root", root, "delete", "--force", id]);
    rmSync(root, { recursive: true, force: true });
    rmSync(bundle, { recursive: true, force: true });
  });
  const c = structuredClone(config) as { linux: Record<string, unknown> };
  c.linux.cgroupsPath = `/${id}`;
  writeFileSync(join(bundle, "config.json"), JSON.stringify(c));
  const r = spawnSync("runc", ["--root", root, "run", "--bundle", bundle, id], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test("hostform-runtime under an unmodified `runc spec` bundle with CAP_MKNOD: loop0 and tty0 refused, null, zero, urandom and a pty work", { skip }, (t) => {
  assert.deepEqual(lines(underHostformRuntime(t, "oci", runcBundleConfig(ATTACK))), EXPECTED);
});

test("runc itself gives that bundle the same answers (the reference hostform-runtime follows)", { skip: skip || (!hasRunc && "runc is not installed") }, (t) => {
  assert.deepEqual(lines(underRunc(t, "attack", runcBundleConfig(ATTACK))), EXPECTED);
});

/** linux.devices nodes (one nested, one fifo) and rules allowing the first, then how they look. */
function nodesConfig(): Record<string, unknown> {
  const show = (key: string, path: string) => `stat -c '${key}=%A %u:%g %t:%T' ${path}`;
  const c = runcBundleConfig([show("kmsg", "/dev/hf-kmsg"), show("nested", "/dev/hf/sub/node"), show("fifo", "/dev/hf-fifo"), show("full", "/dev/full"), openProbe("full-open", "/dev/full", "<>"), openProbe("nested-open", "/dev/hf/sub/node", "<")].join("; ")) as { linux: Record<string, unknown> };
  c.linux.devices = [
    { path: "/dev/hf-kmsg", type: "c", major: 1, minor: 11, fileMode: 0o640, uid: 7, gid: 8 },
    { path: "/dev/hf/sub/node", type: "c", major: 1, minor: 5 },
    { path: "/dev/hf-fifo", type: "p", major: 0, minor: 0, fileMode: 0o600 },
    // Replaces runc's default /dev/full, and with it the default rule for 1:7: open is refused.
    { path: "/dev/full", type: "c", major: 1, minor: 7, fileMode: 0o600 },
  ];
  (c.linux.resources as { devices: unknown[] }).devices.push({ allow: true, type: "c", major: 1, minor: 5, access: "r" });
  return c;
}

const NODES = { kmsg: "crw-r----- 7:8 1:b", nested: "crw-rw-rw- 0:0 1:5", fifo: "prw------- 0:0 0:0", full: "crw------- 0:0 1:7", "full-open": DENIED, "nested-open": "ok" };

test("hostform-runtime creates linux.devices as runc does: mode, owner, parents, fifos; a spec node replaces runc's default and its rule", { skip }, (t) => {
  assert.deepEqual(lines(underHostformRuntime(t, "nodes", nodesConfig())), NODES);
});

test("runc creates the same linux.devices nodes", { skip: skip || (!hasRunc && "runc is not installed") }, (t) => {
  assert.deepEqual(lines(underRunc(t, "nodes", nodesConfig())), NODES);
});

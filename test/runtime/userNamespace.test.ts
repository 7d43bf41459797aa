// Containers with a user namespace (issue 16), through the launcher: nsspawn makes or joins the
// user namespace, the init is root in it and a mapped uid outside, the namespaces made after it
// belong to it, and nothing of the container outlives it.
import { test, after, afterEach, before } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, rmSync, rmdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Launcher, type LaunchedContainer } from "../../src/runtime/launcher";
import { Executor } from "../../src/runtime/exec";
import { validateSpec, type ContainerSpec } from "../../src/runtime/spec";
import { defaultSpec } from "../../src/runtime/specgen/defaults";
import { ValidationError } from "../../src/sys/errors";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { initUnreachable } from "../../src/runtime/initReach";
import { makeBusyboxBundle } from "../../fixtures/busyboxRootfs";
import { statusField } from "../helpers/procStatus";
import { assertNoMountsOf, assertProcessesGone } from "../helpers/leftovers";

// Root and an install the mapped ids can read (a checkout under a 0700 home is not): else said why.
const userNsSkip = needsRoot || initUnreachable();
const prefix = testPrefix("userns");
let bundle = "";
let rootfs = "";
let launcher: Launcher;
const pids: number[] = [];
let checked = 0;
let outSeq = 0;
// Host ids far above any account's, different for each run of this file.
const BASE = 2_000_000_000 + (process.pid % 4096) * 131072;

before(() => {
  if (needsRoot !== false) return;
  ({ bundle, rootfs } = makeBusyboxBundle(prefix));
  // mkdtemp's 0700 would keep the container's root, an unprivileged uid on the host, out of its own rootfs.
  chmodSync(bundle, 0o755);
  for (const applet of ["mount", "kill", "stat"]) symlinkSync("busybox", join(rootfs, "bin", applet));
  launcher = new Launcher({ poolSize: 1 });
});

after(async () => {
  await launcher?.close();
  if (bundle !== "") rmSync(bundle, { recursive: true, force: true });
});

afterEach(async () => {
  const mine = pids.slice(checked);
  checked = pids.length;
  await assertProcessesGone(mine, "container processes left on the host");
  assertNoMountsOf(prefix);
});

function userSpec(args: string[], hostId = BASE, edit?: (s: ContainerSpec) => void): ContainerSpec {
  const s = defaultSpec({ rootfs, args, hostname: "inside" });
  s.linux!.namespaces!.push({ type: "user" });
  s.linux!.uidMappings = [{ containerID: 0, hostID: hostId, size: 65536 }];
  s.linux!.gidMappings = [{ containerID: 0, hostID: hostId, size: 65536 }];
  edit?.(s);
  return validateSpec(s);
}

async function start(s: ContainerSpec): Promise<{ c: LaunchedContainer; output: () => string }> {
  const file = join(bundle, `out-${outSeq++}`);
  const fd = openSync(file, "w+");
  try {
    const c = await launcher.launch(s, { stdio: ["ignore", fd, fd], onCgroup: (pid) => void pids.push(pid) });
    return { c, output: () => readFileSync(file, "utf8") };
  } finally {
    closeSync(fd);
  }
}

/** Waits until the container has written `text` (it then sleeps until killed). */
async function waitForOutput(output: () => string, text: string): Promise<void> {
  for (let i = 0; i < 200 && !output().includes(text); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(output().includes(text), `the container never wrote ${text}: ${output()}`);
}

async function run(s: ContainerSpec): Promise<{ code: number | null; out: string }> {
  const { c, output } = await start(s);
  const exit = await c.exited;
  return { code: exit.code, out: output() };
}

test("with uidMappings the program is root of its own user namespace, and the mapped ids on the host", { skip: userNsSkip }, async () => {
  const { c, output } = await start(userSpec(["sh", "-c", "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; echo pid=$$; exec sleep 60"]));
  try {
    await waitForOutput(output, "pid=");
    const status = readFileSync(`/proc/${c.pid}/status`, "utf8");
    assert.match(statusField(status, "Uid"), new RegExp(`^${BASE}\\s+${BASE}\\s+${BASE}\\s+${BASE}$`));
    assert.match(statusField(status, "Gid"), new RegExp(`^${BASE}\\s+${BASE}\\s+${BASE}\\s+${BASE}$`));
    // The program is the launcher's child, as without a user namespace: its exit comes here.
    assert.equal(statusField(status, "PPid"), String(process.pid));
  } finally {
    process.kill(c.pid, "SIGKILL");
  }
  const exit = await c.exited;
  assert.deepEqual(exit, { code: null, signal: "SIGKILL" });
  const lines = output().trim().split("\n").map((l) => l.trim().split(/\s+/).join(" "));
  assert.deepEqual(lines, ["0", "0", `0 ${BASE} 65536`, `0 ${BASE} 65536`, "pid=1"]);
});

test("an exit code comes back from a user-namespaced container", { skip: userNsSkip }, async () => {
  assert.deepEqual(await run(userSpec(["sh", "-c", "exit 9"])), { code: 9, out: "" });
});

test("root inside mounts a tmpfs and names its host; outside, a file it makes is the mapped uid's and host processes are out of reach", { skip: userNsSkip }, async () => {
  const shared = join(bundle, "shared");
  mkdirSync(shared);
  chmodSync(shared, 0o777);
  // The rootfs is the host root's: the container's root may not make the mount point itself.
  mkdirSync(join(rootfs, "shared"));
  // A host process the container can see (it keeps the host's pid namespace) but must not touch.
  const victim = spawn("sleep", ["60"], { stdio: "ignore" });
  try {
    const s = userSpec(
      ["sh", "-c", `mount -t tmpfs t /tmp && echo mounted; hostname renamed && hostname; touch /shared/made; kill -0 ${victim.pid} 2>&1 || echo kill-refused; cat /proc/${victim.pid}/environ >/dev/null 2>&1 || echo environ-refused`],
      BASE,
      (x) => {
        x.process.capabilities!.bounding!.push("CAP_SYS_ADMIN");
        x.process.capabilities!.effective!.push("CAP_SYS_ADMIN");
        x.process.capabilities!.permitted!.push("CAP_SYS_ADMIN");
        x.linux!.namespaces = x.linux!.namespaces!.filter((n) => n.type !== "pid");
        x.mounts = [...(x.mounts ?? []).filter((m) => m.destination !== "/proc"), { destination: "/shared", type: "bind", source: shared, options: ["rbind"] }];
      },
    );
    const r = await run(s);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^mounted\nrenamed\n/);
    assert.match(r.out, /kill-refused/);
    assert.match(r.out, /environ-refused/);
    const st = statSync(join(shared, "made"));
    assert.deepEqual({ uid: st.uid, gid: st.gid }, { uid: BASE, gid: BASE });
    assert.notEqual(readFileSync("/proc/sys/kernel/hostname", "utf8").trim(), "renamed");
  } finally {
    victim.kill("SIGKILL");
  }
});

test("an idmap bind mount shows the host's root-owned files as the container root's, and what root writes there is the host's root's", { skip: userNsSkip }, async () => {
  const volume = join(bundle, "volume");
  mkdirSync(volume);
  writeFileSync(join(volume, "from-host"), "x");
  mkdirSync(join(rootfs, "volume"));
  try {
    for (const option of ["idmap", "ridmap"]) {
      const s = userSpec(["sh", "-c", `stat -c %u /volume/from-host; touch /volume/made-${option}; stat -c %u /volume/made-${option}`], BASE, (x) => {
        x.mounts = [...(x.mounts ?? []), { destination: "/volume", type: "bind", source: volume, options: [option === "ridmap" ? "rbind" : "bind", option] }];
      });
      const r = await run(s);
      assert.equal(r.code, 0, r.out);
      assert.equal(r.out, "0\n0\n");
      assert.equal(statSync(join(volume, `made-${option}`)).uid, 0, "stored unshifted: the host's root owns it");
    }
  } finally {
    rmdirSync(join(rootfs, "volume"));
  }
  assert.throws(() => validateSpec({ ...defaultSpec({ rootfs, args: ["true"] }), mounts: [{ destination: "/v", type: "bind", source: volume, options: ["bind", "idmap"] }] }), (e: unknown) => e instanceof ValidationError && e.field === "mounts[0].options" && /user namespace/.test(e.message));
  assert.throws(() => validateSpec({ ...defaultSpec({ rootfs, args: ["true"] }), mounts: [{ destination: "/v", type: "tmpfs", source: "tmpfs", options: ["idmap"] }] }), (e: unknown) => e instanceof ValidationError && e.field === "mounts[0].options" && /bind mount/.test(e.message));
});

test("two containers with different mappings run side by side from one rootfs", { skip: userNsSkip }, async () => {
  const second = BASE + 65536;
  const a = await start(userSpec(["sh", "-c", "stat -c %u /bin/busybox; exec sleep 60"]));
  const b = await start(userSpec(["sh", "-c", "stat -c %u /bin/busybox; exec sleep 60"], second));
  try {
    await waitForOutput(a.output, "\n");
    await waitForOutput(b.output, "\n");
    assert.match(statusField(readFileSync(`/proc/${a.c.pid}/status`, "utf8"), "Uid"), new RegExp(`^${BASE}\\s`));
    assert.match(statusField(readFileSync(`/proc/${b.c.pid}/status`, "utf8"), "Uid"), new RegExp(`^${second}\\s`));
  } finally {
    process.kill(a.c.pid, "SIGKILL");
    process.kill(b.c.pid, "SIGKILL");
  }
  await Promise.all([a.c.exited, b.c.exited]);
  // The rootfs is the host's root's, which neither mapping covers: both see the overflow id.
  assert.equal(a.output().trim(), "65534");
  assert.equal(b.output().trim(), "65534");
});

test("a container joins another's user namespace by path, and gets its mapping", { skip: userNsSkip }, async () => {
  const owner = await start(userSpec(["sleep", "60"]));
  try {
    const s = defaultSpec({ rootfs, args: ["sh", "-c", "id -u; cat /proc/self/uid_map"], hostname: "joined" });
    s.linux!.namespaces!.push({ type: "user", path: `/proc/${owner.c.pid}/ns/user` });
    const r = await run(validateSpec(s));
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(r.out.trim().split("\n").map((l) => l.trim().split(/\s+/).join(" ")), ["0", `0 ${BASE} 65536`]);
  } finally {
    process.kill(owner.c.pid, "SIGKILL");
  }
  await owner.c.exited;
});

test("exec into a user-namespaced container runs in its user namespace: root inside, the mapped uid outside", { skip: userNsSkip }, async () => {
  const target = await start(userSpec(["sleep", "60"]));
  const executor = new Executor();
  const file = join(bundle, `exec-${outSeq++}`);
  const fd = openSync(file, "w+");
  try {
    const p = await executor.exec({ pid: target.c.pid, spec: userSpec(["sleep", "60"]) }, { args: ["sh", "-c", "id -u; cat /proc/self/uid_map; exec sleep 60"], stdio: ["ignore", fd, fd] });
    try {
      await waitForOutput(() => readFileSync(file, "utf8"), "65536");
      assert.match(statusField(readFileSync(`/proc/${p.pid}/status`, "utf8"), "Uid"), new RegExp(`^${BASE}\\s+${BASE}\\s`));
    } finally {
      p.kill("SIGKILL");
    }
    assert.equal((await p.exited).signal, "SIGKILL");
    assert.deepEqual(readFileSync(file, "utf8").trim().split("\n").map((l) => l.trim().split(/\s+/).join(" ")), ["0", `0 ${BASE} 65536`]);
  } finally {
    closeSync(fd);
    await executor.close();
    process.kill(target.c.pid, "SIGKILL");
    await target.c.exited;
  }
});

test("a prepared user-namespaced container that is aborted leaves nothing", { skip: userNsSkip }, async () => {
  const prepared = await launcher.prepare(userSpec(["true"]), { onCgroup: (pid) => void pids.push(pid) });
  assert.ok(prepared.pid > 0);
  await prepared.abort();
  const exit = await prepared.exited;
  assert.equal(exit.signal, "SIGKILL");
});

test("a setup failure inside the user namespace is reported, the init reaped", { skip: userNsSkip }, async () => {
  await assert.rejects(
    launcher.launch(userSpec(["/no/such/program"]), { onCgroup: (pid) => void pids.push(pid) }),
    /\/no\/such\/program/,
  );
});

test("bad mappings are spec errors that name the field", () => {
  const base = (): Record<string, unknown> => JSON.parse(JSON.stringify(defaultSpec({ rootfs: "/r", args: ["sh"] }))) as Record<string, unknown>;
  const withLinux = (extra: Record<string, unknown>, userNs: Record<string, unknown> | null = { type: "user" }): unknown => {
    const s = base();
    const linux = { ...(s.linux as Record<string, unknown>), ...extra };
    if (userNs !== null) linux.namespaces = [...(linux.namespaces as unknown[]), userNs];
    s.linux = linux;
    return s;
  };
  const field = (input: unknown, name: string, pattern: RegExp): void =>
    assert.throws(() => validateSpec(input), (e: unknown) => e instanceof ValidationError && e.field === name && pattern.test(e.message), name);
  const m = [{ containerID: 0, hostID: 100000, size: 65536 }];
  field(withLinux({ uidMappings: m }, null), "linux.uidMappings", /needs a user namespace/);
  field(withLinux({ gidMappings: m }), "linux.uidMappings", /is required for a new user namespace/);
  field(withLinux({ uidMappings: m }), "linux.gidMappings", /is required/);
  field(withLinux({ uidMappings: [...m, { containerID: 1000, hostID: 300000, size: 10 }], gidMappings: m }), "linux.uidMappings[1].containerID", /overlaps linux.uidMappings\[0\]/);
  field(withLinux({ uidMappings: [{ containerID: 0, hostID: 100000, size: 0 }], gidMappings: m }), "linux.uidMappings[0].size", /at least 1/);
  field(withLinux({ uidMappings: [{ containerID: 0, hostID: -1, size: 1 }], gidMappings: m }), "linux.uidMappings[0].hostID", /not an id/);
  field(withLinux({ uidMappings: m, gidMappings: m }, { type: "user", path: "/proc/1/ns/user" }), "linux.uidMappings", /joined user namespace/);
  const ok = validateSpec(withLinux({ uidMappings: m, gidMappings: m }));
  assert.deepEqual(ok.linux?.uidMappings, m);
});

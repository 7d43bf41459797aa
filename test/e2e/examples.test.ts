// The examples end to end through the hostform CLI: up -> `ps --json` shows the containers running
// -> drift clean -> out-of-band changes (a cgroup limit rewritten, a container process killed, a
// pinned namespace removed) -> drift reports each (exit 2) -> up repairs -> destroy leaves no
// cgroup, mount, namespace file, state entry or process. Lockdown gets up/destroy only.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { openCgroupDriver } from "../../src/cgroup/driver";
import { deleteNamespaces, listNamespaces } from "../../src/ns";
import { RuntimeClient } from "../../src/runtime/client";
import { isSameProcess } from "../../src/runtime/state";
import { isMountPoint } from "../../src/ns/pin";
import { MNT_DETACH } from "../../src/sys/constants";
import { umount2 } from "../../src/sys/libc";
import { BPF_CGROUP_DEVICE, detachProgram, openCgroupDir, programFdById, queryPrograms, withFd } from "../../src/sys/bpf";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { removeNetLeftovers } from "../../fixtures/netLeftovers";
import { defaultBridgeName } from "../../providers/impl/v1/network";
import { REPO, events, hostform, prepareExample, type ExampleRun } from "./exampleRun";
import { NO_CNI_PLUGINS } from "../../fixtures/cniNetns";

const prefix = testPrefix("e2e");
const base = join(tmpdir(), prefix);
const runDir = join(base, "run");
// Cleanup below (namespaces, containers) addresses the same run dir as the CLI children.
process.env.HOSTFORM_RUN_DIR = runDir;
const driver = openCgroupDriver();
const timings: string[] = [];

interface PsEntry {
  id: string;
  status: string;
  pid?: number;
  pidStartTime: number;
  cgroup: string;
}

after(async () => {
  // Whatever a failed test left: containers, their cgroups, pinned namespaces, the supervisor.
  const client = new RuntimeClient({ runDir });
  for (const c of await client.list().catch(() => [])) {
    await client.delete(c.id, { force: true }).catch(() => undefined);
    await driver.delete(c.cgroup).catch(() => undefined);
  }
  for (const ns of listNamespaces()) if (ns.name.includes(prefix)) await deleteNamespaces(ns.name).catch(() => undefined);
  for (const dir of hostformCgroups()) await driver.delete(dir).catch(() => undefined);
  await client.shutdownSupervisor().catch(() => undefined);
  // examples/web's bridge and any rule naming this run, should its destroy have failed.
  await removeNetLeftovers(prefix, defaultBridgeName(`web-${prefix}-web-net`));
  if (isMountPoint(join(runDir, "ns"))) umount2(join(runDir, "ns"), MNT_DETACH);
  rmSync(base, { recursive: true, force: true });
  if (timings.length > 0) process.stdout.write(`# example timings: ${timings.join("; ")}\n`);
});

/** Names of hostform cgroups (top level) this test made, in any hierarchy. */
function hostformCgroups(scope = prefix): string[] {
  const found = new Set<string>();
  for (const dir of [...Object.values(driver.paths("x").v1), ...(driver.paths("x").v2 !== undefined ? [driver.paths("x").v2!] : [])]) {
    const parent = join(dir, "..");
    try {
      for (const n of readdirSync(parent)) if (n.includes(scope)) found.add(n);
    } catch {
      // Hierarchy without a hostform parent yet.
    }
  }
  return [...found];
}

async function ps(run: ExampleRun): Promise<PsEntry[]> {
  const r = await hostform(run, "ps", "--json");
  assert.equal(r.code, 0, r.out);
  return (JSON.parse(r.out) as PsEntry[]).filter((c) => c.id.includes(run.stack));
}

async function up(run: ExampleRun, what: string, json = true): Promise<string> {
  const r = await hostform(run, "up", "--yes", ...(json ? ["--json"] : []));
  assert.equal(r.code, 0, `${what}: ${r.out}`);
  timings.push(`${run.project.split("/").pop()} ${what} ${r.ms} ms`);
  return r.out;
}

async function drift(run: ExampleRun): Promise<{ code: number | null; drifts: Array<{ urn: string; status: string; changes: Array<{ key: string; new?: unknown }> }>; out: string }> {
  const r = await hostform(run, "drift", "--exit-code", "--json");
  const drifts = events(r.out).filter((e) => e.type === "drift" && e.status !== "in-sync") as unknown as Array<{ urn: string; status: string; changes: Array<{ key: string; new?: unknown }> }>;
  return { code: r.code, drifts, out: r.out };
}

/** Detaches every device filter of a cgroup v2 directory, as `bpftool cgroup detach` would. */
function detachDeviceFilters(dir: string): void {
  withFd(openCgroupDir(dir), (cg) => {
    for (const id of queryPrograms(cg, BPF_CGROUP_DEVICE, dir)) withFd(programFdById(id), (p) => detachProgram(cg, p, BPF_CGROUP_DEVICE, dir));
  });
}

async function destroyLeavesNothing(run: ExampleRun, before: PsEntry[]): Promise<void> {
  const r = await hostform(run, "destroy", "--yes", "--json");
  assert.equal(r.code, 0, r.out);
  timings.push(`${run.project.split("/").pop()} destroy ${r.ms} ms`);
  assert.deepEqual(await ps(run), [], "no container state left");
  for (const c of before) assert.equal(c.pid !== undefined && isSameProcess(c.pid, c.pidStartTime), false, `process of ${c.id} is gone`);
  assert.deepEqual(hostformCgroups(run.stack), [], "no cgroup left");
  assert.deepEqual(listNamespaces().filter((n) => n.name.includes(run.stack)), [], "no namespace set left");
  // The run dir's ns directory stays a private self-bind mount (hostform's, reused by later sets);
  // no pin below it may be left.
  const nsRoot = join(run.runDir, "ns");
  const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(run.stack) && l.split(" ")[4] !== nsRoot);
  assert.deepEqual(mounts, [], "no mount left");
  const stackFile = join(run.stateDir, ".pulumi", "stacks", projectName(run), `${run.stack}.json`);
  if (existsSync(stackFile)) {
    const resources = (JSON.parse(readFileSync(stackFile, "utf8")) as { checkpoint: { latest?: { resources?: Array<{ type: string }> } } }).checkpoint.latest?.resources ?? [];
    assert.deepEqual(resources.filter((x) => x.type.startsWith("pulumi-nodejs:dynamic/hostform:")), [], "no state entry left");
  }
}

function projectName(run: ExampleRun): string {
  return /^name:\s*(\S+)/m.exec(readFileSync(join(run.project, "Pulumi.yaml"), "utf8"))![1]!;
}

/**
 * A guard against a hung example, not a speed limit: 5-10 s each on the host, 100-180 s in the
 * cgroup-v2 VM lane (test/vm), where every Node start of a deployment runs under emulation.
 */
const EXAMPLE_TIMEOUT_MS = 300_000;

/** Polls fn (after `refresh`, which gathers what fn looks at) until it holds. */
async function waitFor(what: string, fn: () => boolean, timeoutMs = 10_000, refresh?: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await refresh?.();
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, refresh === undefined ? 50 : 500));
    await refresh?.();
  }
}

/** The first line of the busybox rootfs's /etc/passwd, which examples/pod's server serves. */
const PASSWD_FIRST_LINE = "root:x:0:0:root:/root:/bin/sh";

test("examples resolve \"hostform\" to the repository's package", () => {
  for (const name of ["quickstart", "pod", "lockdown", "web"]) {
    assert.equal(require.resolve("hostform", { paths: [join(REPO, "examples", name)] }), join(REPO, "dist", "providers", "index.js"));
  }
});

test("quickstart: up, ps, drift clean, rewritten limit, killed process and loosened device rule are drift, up repairs, destroy leaves nothing", { skip: needsRoot, timeout: EXAMPLE_TIMEOUT_MS }, async () => {
  const run = prepareExample("quickstart", base, `${prefix}-qs`, runDir);
  await up(run, "up");
  const running = await ps(run);
  assert.equal(running.length, 1, JSON.stringify(running));
  const c = running[0]!;
  assert.equal(c.status, "running");
  assert.equal((await drift(run)).code, 0);

  // A limit rewritten behind hostform's back.
  const memDir = driver.paths(c.cgroup).v1.memory ?? driver.paths(c.cgroup).v2!;
  writeFileSync(join(memDir, driver.paths(c.cgroup).v1.memory !== undefined ? "memory.limit_in_bytes" : "memory.max"), String(48 * 1024 * 1024));
  let d = await drift(run);
  assert.equal(d.code, 2, d.out);
  assert.equal(d.drifts.length, 1, d.out);
  assert.equal(d.drifts[0]!.status, "modified");
  assert.ok(d.drifts[0]!.changes.some((x) => x.key === "liveLimits"), d.out);

  // The container's process killed.
  process.kill(c.pid!, "SIGKILL");
  await waitFor("the kill to be seen", () => !isSameProcess(c.pid!, c.pidStartTime));
  d = await drift(run);
  assert.equal(d.code, 2, d.out);
  assert.equal(d.drifts[0]!.status, "stopped", d.out);

  await up(run, "repair");
  const repaired = await ps(run);
  assert.equal(repaired[0]!.status, "running");
  assert.notEqual(repaired[0]!.pid, c.pid);
  assert.equal(driver.read(c.cgroup).memory?.max, 32 * 1024 * 1024);
  d = await drift(run);
  assert.equal(d.code, 0, d.out);

  // A device rule loosened behind hostform's back: every device allowed (v1) or the filter detached (v2).
  if (driver.routes.devices === "v1") writeFileSync(join(driver.paths(c.cgroup).v1.devices!, "devices.allow"), "a");
  else detachDeviceFilters(driver.paths(c.cgroup).v2!);
  d = await drift(run);
  assert.equal(d.code, 2, d.out);
  const loosened = d.drifts[0]!.changes.find((x) => x.key === "liveLimits");
  assert.deepEqual((loosened?.new as { devices?: unknown } | undefined)?.devices, { default: "allow", exceptions: [] }, d.out);
  await up(run, "repair devices");
  assert.equal(driver.read(c.cgroup).devices?.default, "deny");
  assert.equal((await drift(run)).code, 0);

  await destroyLeavesNothing(run, [...running, ...repaired]);
});

test("pod: two containers share the namespace and cgroup; a removed pinned namespace is drift and up rebuilds the pod", { skip: needsRoot, timeout: EXAMPLE_TIMEOUT_MS }, async () => {
  const run = prepareExample("pod", base, `${prefix}-pod`, runDir);
  // The secret env value is masked everywhere: the plan and outputs a person sees here, the --json
  // events of the drift and repair runs below.
  assert.ok(!(await up(run, "up", false)).includes("not-a-real-token"), "a secret env value was printed");
  const running = await ps(run);
  assert.equal(running.length, 2, JSON.stringify(running));
  assert.ok(running.every((x) => x.status === "running"));
  assert.ok(running.every((x) => x.cgroup.startsWith(`pod-${run.stack}-pod/`)), JSON.stringify(running));
  const inode = (pid: number) => statSync(`/proc/${pid}/ns/net`).ino;
  assert.equal(inode(running[0]!.pid!), inode(running[1]!.pid!), "one network namespace");
  // The client really reaches the server over the pod's loopback: its log shows the first line of
  // the server's /etc/passwd.
  const client = `pod-${run.stack}-client`;
  let clientLog = "";
  await waitFor("the client's log to show a page fetched from the server", () => clientLog.includes(PASSWD_FIRST_LINE), 60_000, async () => {
    clientLog = (await hostform(run, "logs", client)).out;
  });
  // The client's env holds a secret: its state entry keeps env marked secret, and encrypted.
  const stackFile = join(run.stateDir, ".pulumi", "stacks", "pod", `${run.stack}.json`);
  assert.ok(!readFileSync(stackFile, "utf8").includes("not-a-real-token"), "a secret env value is in the state");
  const clientState = (JSON.parse(readFileSync(stackFile, "utf8")) as { checkpoint: { latest: { resources: Array<{ urn: string; inputs: Record<string, unknown>; outputs: Record<string, unknown> }> } } }).checkpoint.latest.resources.find((x) => x.urn.endsWith("::client"))!;
  for (const props of [clientState.inputs, clientState.outputs]) {
    assert.equal((props.env as Record<string, unknown>)["4dabf18193072939515e22adb298388d"], "1b47061264138c4ac30d75fd1eb44270", JSON.stringify(props.env));
    assert.match(String((props.env as Record<string, unknown>).ciphertext), /^v1:/, JSON.stringify(props.env));
  }
  assert.equal((await drift(run)).code, 0);

  // A pod limit rewritten, then the pinned namespace removed.
  const podCgroup = `pod-${run.stack}-pod`;
  const pidsDir = driver.paths(podCgroup).v1.pids ?? driver.paths(podCgroup).v2!;
  writeFileSync(join(pidsDir, "pids.max"), "40");
  let d = await drift(run);
  assert.equal(d.code, 2, d.out);
  assert.ok(d.drifts.some((x) => x.urn.endsWith("::pod") && x.urn.includes("Cgroup") && x.status === "modified"), d.out);
  await deleteNamespaces(`pod-${run.stack}-pod`);
  d = await drift(run);
  assert.equal(d.code, 2, d.out);
  assert.ok(d.drifts.some((x) => x.urn.includes("hostform:Namespace") && x.status === "missing"), d.out);

  assert.ok(!d.out.includes("not-a-real-token"), "a secret env value was in drift --json");

  // One up repairs it: re-creating the set right after deleting it must pin every namespace.
  const repair = await up(run, "repair");
  assert.ok(!repair.includes("not-a-real-token"), "a secret env value was in up --json");
  const rebuilt = await ps(run);
  assert.equal(rebuilt.length, 2);
  assert.ok(rebuilt.every((x) => x.status === "running"));
  assert.equal(inode(rebuilt[0]!.pid!), inode(rebuilt[1]!.pid!));
  // The re-created network namespace has lo up too: the exact bytes, fetched from inside the client.
  let fetched = "";
  for (let i = 0; i < 60 && !fetched.startsWith(PASSWD_FIRST_LINE); i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 1000));
    fetched = (await hostform(run, "exec", client, "--", "wget", "-q", "-O", "-", "http://127.0.0.1:8080/passwd")).out;
  }
  assert.equal(fetched, readFileSync(`/proc/${rebuilt.find((x) => x.id.endsWith("-server"))!.pid!}/root/etc/passwd`, "utf8"));
  assert.equal(driver.read(podCgroup).pids?.max, 64);
  d = await drift(run);
  assert.equal(d.code, 0, d.out);

  await destroyLeavesNothing(run, [...running, ...rebuilt]);
});

test("lockdown: up runs it filtered, read-only, without capabilities; destroy leaves nothing", { skip: needsRoot, timeout: EXAMPLE_TIMEOUT_MS }, async () => {
  const run = prepareExample("lockdown", base, `${prefix}-lock`, runDir);
  await up(run, "up");
  const running = await ps(run);
  assert.equal(running.length, 1);
  const pid = running[0]!.pid!;
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  assert.match(status, /^Seccomp:\s+2$/m);
  assert.match(status, /^CapEff:\s+0+$/m);
  assert.match(status, /^Uid:\s+65534\b/m);
  await destroyLeavesNothing(run, running);
});

/** The host's iptables rules and chains (counters dropped): what a destroy must give back. */
/**
 * The host's iptables rules, counters cut. A table with nothing in it (only its built-in chains,
 * policy ACCEPT, no rule) is left out: iptables-nft makes a table the first time anyone lists or uses
 * it and never removes it, so a host where no test made one yet and a host where one lingers empty
 * have the same rules.
 */
function iptablesRules(): string {
  const r = spawnSync("iptables-save", { encoding: "utf8" });
  const lines = r.stdout.split("\n").filter((l) => !l.startsWith("#")).map((l) => l.replace(/\[\d+:\d+\]/, ""));
  const out: string[] = [];
  let table: string[] = [];
  for (const l of lines) {
    if (l.startsWith("*")) table = [l];
    else if (table.length > 0) {
      table.push(l);
      if (l === "COMMIT") {
        const empty = table.slice(1, -1).every((x) => /^:\S+ ACCEPT\s*$/.test(x));
        if (!empty) out.push(...table);
        table = [];
      }
    } else out.push(l);
  }
  return out.join("\n");
}

function links(): string[] {
  return readdirSync("/sys/class/net").sort();
}

/** The host side of the example's traffic: only 127.0.0.1. */
function fetchPage(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    get({ host: "127.0.0.1", port, path: "/", timeout: 3000 }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve(body));
    }).on("error", () => resolve(undefined));
  });
}


test("web: a page published on 127.0.0.1:18080, a client fetching http://web/ by name; a removed port rule, veth or bridge is drift, up repairs, destroy leaves no link or rule", { skip: needsRoot || NO_CNI_PLUGINS, timeout: 2 * EXAMPLE_TIMEOUT_MS }, async () => {
  const rulesBefore = iptablesRules();
  const linksBefore = links();
  const run = prepareExample("web", base, `${prefix}-web`, runDir);
  // examples/web's defaults.
  const port = 18080;
  await up(run, "up");
  const running = await ps(run);
  assert.equal(running.length, 2, JSON.stringify(running));
  const page = "hello from hostform\n";
  let got: string | undefined;
  await waitFor("the published port to serve the page", () => got === page, 30_000, async () => {
    got = await fetchPage(port);
  });
  const client = `web-${run.stack}-client`;
  let clientLog = "";
  await waitFor("the client's log to show the page fetched by name", () => clientLog.includes("hello from hostform"), 60_000, async () => {
    clientLog = (await hostform(run, "logs", client)).out;
  });
  assert.equal((await drift(run)).code, 0);

  // Out of band: the web container's DNAT rule and the client's veth (host end) at once, then the bridge.
  const nat = spawnSync("iptables-save", ["-t", "nat"], { encoding: "utf8" }).stdout;
  const dnat = nat.split("\n").find((l) => l.includes(`--dport ${port}`) && l.includes("-j DNAT"));
  assert.ok(dnat !== undefined, nat);
  assert.equal(spawnSync("iptables", ["-t", "nat", ...dnat!.replace(/^-A/, "-D").split(" ")]).status, 0);
  const br = defaultBridgeName(`web-${run.stack}-net`);
  const veths = (JSON.parse(spawnSync("ip", ["-j", "link", "show", "master", br], { encoding: "utf8" }).stdout) as { ifname: string }[]).map((l) => l.ifname);
  assert.equal(veths.length, 2, JSON.stringify(veths));
  // Either veth will do: the drift names whichever container lost it.
  assert.equal(spawnSync("ip", ["link", "del", veths[0]!]).status, 0);
  let d = await drift(run);
  assert.equal(d.code, 2, d.out);
  assert.ok(d.drifts.some((x) => x.urn.endsWith("::web") && x.changes.some((c) => c.key === "publishedPorts")), d.out);
  assert.ok(d.drifts.some((x) => x.urn.includes("hostform:Container") && x.changes.some((c) => c.key === "networkInterfaces")), d.out);
  await up(run, "repair port and veth");
  // A veth made again has a new MAC under the old address: the repair flushes the host's neighbour
  // entry for it, so the page is back at once (without the flush it took the entry's 15-45 s
  // reachable time plus probes, and this wait timed out).
  got = undefined;
  await waitFor("the page through the repaired rule and veth", () => got === page, 10_000, async () => {
    got = await fetchPage(port);
  });
  assert.equal((await drift(run)).code, 0);

  assert.equal(spawnSync("ip", ["link", "del", br]).status, 0);
  d = await drift(run);
  assert.equal(d.code, 2, d.out);
  assert.ok(d.drifts.some((x) => x.urn.endsWith("::net") && x.changes.some((c) => c.key === "bridgeAddresses")), d.out);
  await up(run, "repair bridge");
  assert.equal((await drift(run)).code, 0);
  got = undefined;
  await waitFor("the page through the repaired network", () => got === page, 30_000, async () => {
    got = await fetchPage(port);
  });
  clientLog = "";
  const before = (await hostform(run, "logs", client)).out.split("\n").length;
  // Both containers were attached again with new interfaces, and each repair flushed the peers'
  // entries for the repaired address: the client (fetching every 2 s) reaches web by name at once.
  await waitFor("the client to fetch by name again", () => clientLog.split("\n").slice(before).some((l) => l.includes("hello from hostform")), 30_000, async () => {
    clientLog = (await hostform(run, "logs", client)).out;
  });

  // What is this example's (other tests may have networks of their own meanwhile): its bridge, the
  // host ends of its veths, its rules (their comments name the stack) and the chains they jump to.
  const ours = spawnSync("ip", ["-j", "link", "show", "master", br], { encoding: "utf8" });
  const ourLinks = [br, ...(JSON.parse(ours.stdout) as { ifname: string }[]).map((l) => l.ifname)];
  const ourRules = iptablesRules().split("\n").filter((l) => l.includes(run.stack));
  const ourChains = ourRules.map((l) => /-j (CNI-[0-9a-f]+|CNI-DN-[0-9a-f]+)\b/.exec(l)?.[1]).filter((c): c is string => c !== undefined);
  assert.ok(ourRules.length > 0 && ourChains.length > 0, "the example's rules were found");

  await destroyLeavesNothing(run, running);
  assert.deepEqual(links().filter((l) => ourLinks.includes(l)), [], "no bridge or veth left");
  const after = iptablesRules();
  assert.deepEqual(after.split("\n").filter((l) => l.includes(run.stack) || ourChains.some((c) => l.includes(c))), [], "no rule or chain of the example left");
  // Alone on the host (no other network test running), everything is as it was, the plugins' shared chains included.
  if (links().every((l) => linksBefore.includes(l))) assert.equal(after, rulesBefore, "the host's rules are as before");
  assert.deepEqual(readdirSync(join(runDir, "cni", "networks")), [], "no lease left");
});

test("image: two containers from one OCI archive run with the image's defaults; a removed layer is drift, a rebuilt image replaces both, destroy empties the store", { skip: needsRoot, timeout: 2 * EXAMPLE_TIMEOUT_MS }, async () => {
  const run = prepareExample("image", base, `${prefix}-img`, runDir);
  const build = spawnSync(join(run.project, "build-image"), [], { encoding: "utf8" });
  assert.equal(build.status, 0, build.stderr);
  await up(run, "up");
  const running = await ps(run);
  assert.deepEqual(running.map((c) => c.status), ["running", "running"], JSON.stringify(running));
  const logs = async (name: string): Promise<string> => (await hostform(run, "logs", `image-${run.stack}-${name}`)).out;
  const greeted = async (): Promise<boolean> => (await logs("hello")).includes("hello from hello, running as app in /app") && (await logs("bonjour")).includes("bonjour from bonjour");
  const deadline = Date.now() + 20_000;
  while (!(await greeted()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.ok(await greeted(), `${await logs("hello")}\n${await logs("bonjour")}`);
  let d = await drift(run);
  assert.equal(d.code, 0, JSON.stringify(d.drifts));

  // A layer directory removed out of band: the Image is not intact; up unpacks it again.
  const layers = join(run.env.HOSTFORM_LIB_DIR ?? "", "images", "layers");
  const [removed] = readdirSync(layers);
  rmSync(join(layers, removed!), { recursive: true, force: true });
  d = await drift(run);
  assert.equal(d.code, 2, d.out);
  assert.ok(d.drifts.some((x) => x.urn.endsWith("Image::hello") && x.changes.some((c) => c.key === "intact" || c.key === "missingLayers")), d.out);
  await up(run, "repair layer");
  assert.ok(existsSync(join(layers, removed!, "diff")));
  d = await drift(run);
  assert.equal(d.code, 0, JSON.stringify(d.drifts));

  // A new image in the archive: the preview says the containers are replaced because their image changed.
  const rebuilt = spawnSync(join(run.project, "build-image"), [], { encoding: "utf8" });
  assert.equal(rebuilt.status, 0, rebuilt.stderr);
  const preview = await hostform(run, "preview", "--refresh");
  assert.equal(preview.code, 0, preview.out);
  assert.match(preview.out, /replace\s+\S+hostform:Container hello\s+\[diff: [^\]]*~image/, preview.out);
  await up(run, "new image");
  const replaced = await ps(run);
  assert.equal(replaced.length, 2);
  for (const c of replaced) assert.ok(!running.some((r) => r.pid === c.pid), "both containers are new");

  await destroyLeavesNothing(run, [...running, ...replaced]);
  assert.deepEqual(readdirSync(layers), [], "no unpacked layer left");
  assert.deepEqual(readdirSync(join(run.env.HOSTFORM_LIB_DIR ?? "", "images", "blobs", "sha256")), [], "no blob left");
});

// Kernel tests of container networking through the providers: a Network (a real bridge), containers
// on it (pinned network namespaces attached with the CNI reference plugins), names, published
// ports, restarts, host ports in use, host and none modes, a pod Namespace. Bridges and rules are
// made in the host's network namespace, as `hostform up` makes them, on test subnets
// (10.250.201.0/24-10.250.209.0/24) nothing else here uses; traffic goes only to 127.0.0.1 and to
// addresses inside namespaces this file made. Everything is removed at the end, even on failure.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { RuntimeClient } from "../../src/runtime/client";
import { DEFAULT_LOG_FILES, readLog } from "../../src/runtime/logsFile";
import { isMountPoint } from "../../src/ns/pin";
import { inspectNamespaces } from "../../src/ns";
import { MNT_DETACH } from "../../src/sys/constants";
import { umount2 } from "../../src/sys/libc";
import { ValidationError } from "../../src/sys/errors";
import { ipamDataDir } from "../../src/net/bridgeConfList";
import { readAttachment } from "../../src/net/attachments";
import { inspectBridge } from "../../src/net/bridgeDevice";
import { memberFiles } from "../../src/net/members";
import { hostRoutes } from "../../src/net/hostRoutes";
import { appletList, buildBusyboxRootfs, findBusybox } from "../../providers/rootfs/busybox";
import { provider as containers, type ContainerInputs, type ContainerOutputs } from "../../providers/impl/v1/container";
import { provider as networks, type NetworkInputs, type NetworkOutputs } from "../../providers/impl/v1/network";
import { provider as namespaces, type NamespaceInputs, type NamespaceOutputs } from "../../providers/impl/v1/namespace";
import { netSetName } from "../../providers/impl/v1/networkDeclaration";
import { testOwner } from "../helpers/owner";
import { removeNetLeftovers } from "../../fixtures/netLeftovers";
import { inNetns, NO_CNI_PLUGINS } from "../../fixtures/cniNetns";

const prefix = testPrefix("net");
const dir = join(tmpdir(), prefix);
const runDir = join(dir, "run");
const rootfs = join(dir, "rootfs");
process.env.HOSTFORM_RUN_DIR = runDir;
// The supervisor this file starts restarts crashed containers within 20 ms, so a hundred restarts take seconds.
process.env.HOSTFORM_RESTART_MAX_BACKOFF_MS = "20";
const skip = needsRoot || NO_CNI_PLUGINS;
// Short and unique: a bridge name has at most 15 bytes.
const tag = prefix.replace(/[^a-z0-9]/gi, "").slice(-6);

const madeContainers: ContainerOutputs[] = [];
const madeNetworks: NetworkOutputs[] = [];
const madeSets: NamespaceOutputs[] = [];

if (skip === false) {
  mkdirSync(dir, { recursive: true });
  const busybox = findBusybox(undefined);
  buildBusyboxRootfs(rootfs, busybox, appletList(busybox, ["sh", "sleep", "cat", "httpd", "wget", "echo", "mkdir", "hostname", "readlink"]));
}

after(async () => {
  for (const c of madeContainers.reverse()) await containers.delete!(c.containerId, c).catch((e: unknown) => console.error(`cleanup of ${c.containerId}: ${String(e)}`));
  for (const s of madeSets.reverse()) await namespaces.delete!(s.name!, s).catch((e: unknown) => console.error(`cleanup of ${s.name}: ${String(e)}`));
  for (const n of madeNetworks.reverse()) await networks.delete!(n.name!, n).catch((e: unknown) => console.error(`cleanup of ${n.name}: ${String(e)}`));
  await new RuntimeClient({ runDir }).shutdownSupervisor().catch(() => undefined);
  // What a broken build failed to remove: this file's bridges and the rules that name its prefix.
  const left = await removeNetLeftovers(prefix, `hf${tag}`);
  if (left.length > 0) console.error(`removed leftovers: ${left.join("; ")}`);
  if (isMountPoint(join(runDir, "ns"))) umount2(join(runDir, "ns"), MNT_DETACH);
  rmSync(dir, { recursive: true, force: true });
});

async function network(name: string, subnet: string, extra: Partial<NetworkInputs> = {}): Promise<NetworkOutputs> {
  const checked = await networks.check!({} as NetworkInputs, { resourceName: name, name: `${prefix}-${name}`, bridge: `hf${tag}${name.slice(0, 6)}`, __owner: testOwner(name), subnet, ...extra });
  assert.deepEqual(checked.failures, []);
  const r = await networks.create(checked.inputs!);
  madeNetworks.push(r.outs!);
  return r.outs!;
}

function attachment(n: NetworkOutputs, extra: { ip?: string; aliases?: string[] } = {}): NonNullable<ContainerInputs["networkAttachments"]>[number] {
  return { network: n.name!, confList: n.confList, ...extra };
}

const LOOP = ["/bin/sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait; done"];
const HTTPD = ["/bin/sh", "-c", "mkdir -p /tmp/www && echo \"hello from $(hostname)\" > /tmp/www/index.html && exec httpd -f -p 80 -h /tmp/www"];

async function checkContainer(name: string, extra: Partial<ContainerInputs>): Promise<{ inputs?: ContainerInputs; failures: { property: string; reason: string }[] }> {
  const checked = await containers.check!({} as ContainerInputs, { resourceName: name, name: `${prefix}-${name}`, __owner: testOwner(name), rootfs, command: LOOP, stopTimeout: 2, ...extra });
  return { inputs: checked.inputs!, failures: checked.failures ?? [] };
}

async function container(name: string, extra: Partial<ContainerInputs>): Promise<{ inputs: ContainerInputs; outs: ContainerOutputs }> {
  const checked = await checkContainer(name, extra);
  assert.deepEqual(checked.failures, []);
  const r = await containers.create(checked.inputs!);
  madeContainers.push(r.outs!);
  return { inputs: checked.inputs!, outs: r.outs! };
}

async function remove(c: ContainerOutputs): Promise<void> {
  await containers.delete!(c.containerId, c);
  madeContainers.splice(madeContainers.indexOf(c), 1);
}

/** Runs argv inside the container's namespaces (its rootfs's busybox), as `hostform exec` would. */
function inContainer(pid: number, ...argv: string[]): { code: number | null; out: string } {
  const r = spawnSync("nsenter", ["-t", String(pid), "-m", "-n", "-u", "-i", "-p", "--", ...argv], { encoding: "utf8", timeout: 20_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

function fetchLocal(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: "127.0.0.1", port, path: "/", timeout: 5000 }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Lease files host-local keeps for the network (one per address; its bookkeeping files aside). */
function leases(n: NetworkOutputs): string[] {
  const d = join(ipamDataDir(), n.name!);
  return existsSync(d) ? readdirSync(d).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
}

test("a Network's subnet may not overlap a host route or another network; the field is named", { skip }, async () => {
  const net = await network("ovl", "10.250.201.0/24");
  assert.deepEqual(await inspectBridge(net.bridge).then((b) => [b.present, b.up, b.addresses]), [true, true, ["10.250.201.1/24"]]);
  const overlap = await networks.check!({} as NetworkInputs, { resourceName: "ovl2", name: `${prefix}-ovl2`, __owner: testOwner("ovl2"), subnet: "10.250.201.128/25" });
  assert.equal(overlap.failures?.[0]?.property, "subnet");
  assert.match(overlap.failures?.[0]?.reason ?? "", /overlaps network .*-ovl's 10\.250\.201\.0\/24/);
  const route = hostRoutes().find((r) => r.prefix > 0 && r.device !== "lo" && !r.device.startsWith("hf"));
  if (route !== undefined) {
    const onRoute = await networks.check!({} as NetworkInputs, { resourceName: "ovl3", name: `${prefix}-ovl3`, __owner: testOwner("ovl3"), subnet: `${route.destination}/${route.prefix}` });
    assert.equal(onRoute.failures?.[0]?.property, "subnet");
    assert.match(onRoute.failures?.[0]?.reason ?? "", /overlaps the host's route/);
  }
});

test("containers on a network reach each other by name and alias, publish a port on 127.0.0.1, and their names follow peers coming and going", { skip, timeout: 120_000 }, async () => {
  const net = await network("web", "10.250.202.0/24");
  const port = 18000 + (process.pid % 1000);
  const web = await container("web", { command: HTTPD, hostname: "webhost", networkAttachments: [attachment(net, { aliases: ["www"] })], ports: [`127.0.0.1:${port}:80/tcp`] });
  const ip = web.outs.networkInterfaces[net.name!]?.ip ?? "";
  assert.match(ip, /^10\.250\.202\.\d+$/, JSON.stringify(web.outs.networkInterfaces));
  assert.deepEqual(web.outs.publishedPorts, [`127.0.0.1:${port}->80/tcp`]);
  assert.equal(await until("the published port to answer", () => fetchLocal(port).then((b) => b, () => undefined)), "hello from webhost\n");

  const client = await container("client", { networkAttachments: [attachment(net)] });
  for (const host of ["web", `${prefix}-web`, "www"]) {
    assert.equal(inContainer(client.outs.pid, "wget", "-q", "-O", "-", `http://${host}/`).out, "hello from webhost\n", host);
  }
  // The client's own files: its hostname, the host's nameservers (or fallbacks), and bind mounts of the run dir's copies.
  assert.equal(readFileSync(`/proc/${client.outs.pid}/root/etc/hostname`, "utf8"), "hostform\n");
  assert.match(readFileSync(`/proc/${client.outs.pid}/root/etc/resolv.conf`, "utf8"), /^nameserver /m);
  assert.equal(statSync(`/proc/${client.outs.pid}/root/etc/hosts`).ino, statSync(memberFiles(client.outs.containerId).hosts).ino);
  // The web container learnt of the client, and forgets it when it goes.
  const webHosts = () => readFileSync(`/proc/${web.outs.pid}/root/etc/hosts`, "utf8");
  assert.match(webHosts(), new RegExp(`\\s${prefix}-client(\\s|$)`, "m"));
  await remove(client.outs);
  assert.doesNotMatch(webHosts(), new RegExp(`${prefix}-client`));
  assert.equal(leases(net).length, 1, "the client's lease is released");

  // Read and diff of an untouched container: in sync.
  const read = await containers.read!(web.outs.containerId, web.outs);
  assert.deepEqual(read.props!.networkInterfaces, web.outs.networkInterfaces);
  assert.equal((await containers.diff!(web.outs.containerId, read.props!, web.inputs)).changes, false);
});

test("a port rule or veth removed out of band is read as drift and put back by update, keeping the process and the address", { skip, timeout: 90_000 }, async () => {
  const net = await network("drift", "10.250.209.0/24");
  const port = 17000 + (process.pid % 1000);
  const c = await container("drift", { command: HTTPD, networkAttachments: [attachment(net)], ports: [`127.0.0.1:${port}:80`] });
  const ip = c.outs.networkInterfaces[net.name!]!.ip;
  await until("the published port to answer", () => fetchLocal(port).then((b) => b, () => undefined));
  const nat = spawnSync("iptables-save", ["-t", "nat"], { encoding: "utf8" }).stdout.split("\n").find((l) => l.includes(`--dport ${port}`) && l.includes("-j DNAT"))!;
  assert.equal(spawnSync("iptables", ["-t", "nat", ...nat.replace(/^-A/, "-D").split(" ")]).status, 0);
  let read = (await containers.read!(c.outs.containerId, c.outs)).props!;
  assert.deepEqual(read.publishedPorts, []);
  assert.equal((await containers.diff!(c.outs.containerId, read, c.inputs)).changes, true);
  let u = (await containers.update!(c.outs.containerId, read, c.inputs)).outs!;
  assert.deepEqual(u.publishedPorts, [`127.0.0.1:${port}->80/tcp`]);
  assert.equal(u.networkInterfaces[net.name!]!.mac, c.outs.networkInterfaces[net.name!]!.mac, "only the rule was put back, not the interface");
  assert.equal(await fetchLocal(port), "hello from hostform\n");

  // The container's end of the veth, deleted inside its namespace.
  assert.equal(spawnSync("nsenter", [`--net=${join(runDir, "ns", netSetName(c.outs.containerId), "net")}`, "ip", "link", "del", "eth0"]).status, 0);
  read = (await containers.read!(c.outs.containerId, u)).props!;
  assert.deepEqual(read.networkInterfaces, {});
  assert.equal((await containers.diff!(c.outs.containerId, read, c.inputs)).changes, true);
  u = (await containers.update!(c.outs.containerId, read, c.inputs)).outs!;
  assert.equal(u.networkInterfaces[net.name!]?.ip, ip, "the same address again");
  assert.equal(u.pid, c.outs.pid, "the process kept running");
  assert.equal((await containers.diff!(c.outs.containerId, (await containers.read!(c.outs.containerId, u)).props!, c.inputs)).changes, false);
  assert.equal(await until("the port through the new veth", () => fetchLocal(port).then((b) => b, () => undefined)), "hello from hostform\n");
  assert.equal(spawnSync("iptables-save", ["-t", "nat"], { encoding: "utf8" }).stdout.split("\n").filter((l) => l.startsWith("-A POSTROUTING") && l.includes(c.outs.containerId)).length, 1, "one masquerade jump, not two");
});

test("a host port already taken is refused at create, naming the port, and nothing is left", { skip, timeout: 60_000 }, async () => {
  const net = await network("busy", "10.250.203.0/24");
  const port = 19000 + (process.pid % 1000);
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  try {
    const { inputs, failures } = await checkContainer("busy", { networkAttachments: [attachment(net)], ports: [{ hostPort: port, containerPort: 80, protocol: "tcp", hostIp: "127.0.0.1" }] });
    assert.deepEqual(failures, []);
    await assert.rejects(containers.create(inputs!), (e: Error) => e instanceof ValidationError && e.field === "ports[0].hostPort" && e.message.includes(String(port)), "the port is named");
    const id = inputs!.name!;
    assert.equal(inspectNamespaces(netSetName(id)), undefined, "no network namespace pin");
    assert.equal(readAttachment(id), undefined, "no attachment record");
    assert.equal(existsSync(memberFiles(id).dir), false, "no name files");
    assert.deepEqual(leases(net), [], "no lease");
    await assert.rejects(new RuntimeClient({ runDir }).state(id), /not found|no such|does not exist/i, "no container");
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

/** 100 on the host; the VM lane asks for fewer (test/vm/run.ts), each restart costing seconds under emulation. */
const RESTARTS = Number(process.env.HOSTFORM_TEST_RESTARTS ?? 100);

test(`restarts by the policy keep the address and its one lease, ${RESTARTS} times over`, { skip, timeout: 180_000 }, async () => {
  const net = await network("crash", "10.250.204.0/24");
  const c = await container("crash", { command: ["/bin/sh", "-c", "readlink /proc/self/ns/net; sleep 0.05; exit 3"], restartPolicy: "always", networkAttachments: [attachment(net)] });
  const ip = readAttachment(c.outs.containerId)!.networks[0]!.ip;
  const outs = await until(`${RESTARTS} restarts`, async () => {
    const r = await containers.read!(c.outs.containerId, c.outs);
    return r.props!.restartCount >= RESTARTS ? r.props! : undefined;
  }, 150_000);
  assert.ok(outs.restartCount >= RESTARTS);
  assert.deepEqual(leases(net), [ip], "one lease, the same address");
  // Every run joined the pinned namespace, where the address is: each printed its own namespace.
  const pin = statSync(join(runDir, "ns", netSetName(c.outs.containerId), "net")).ino;
  const runs = readLog(outs.logPath, DEFAULT_LOG_FILES).toString().split("\n").filter((l) => l.startsWith("net:["));
  assert.ok(runs.length >= RESTARTS, `${runs.length} runs logged`);
  assert.deepEqual([...new Set(runs)], [`net:[${pin}]`]);
  assert.equal(readAttachment(c.outs.containerId)!.networks[0]!.ip, ip);
});

test("networkMode host shares the host's network namespace; none has only lo; conflicting declarations name the field", { skip, timeout: 60_000 }, async () => {
  const host = await container("hostmode", { networkMode: "host" });
  assert.equal(statSync(`/proc/${host.outs.pid}/ns/net`).ino, statSync("/proc/self/ns/net").ino);
  const none = await container("nonemode", { networkMode: "none" });
  assert.notEqual(statSync(`/proc/${none.outs.pid}/ns/net`).ino, statSync("/proc/self/ns/net").ino);
  const devices = readFileSync(`/proc/${none.outs.pid}/net/dev`, "utf8").split("\n").slice(2).map((l) => l.split(":")[0]!.trim()).filter((d) => d !== "");
  assert.deepEqual(devices, ["lo"]);
  const net = await network("modes", "10.250.205.0/24");
  const bad: [Partial<ContainerInputs>, string, RegExp][] = [
    [{ networkMode: "bridge" }, "networkMode", /not a network mode/],
    [{ networkMode: "host", networkAttachments: [attachment(net)] }, "networkMode", /networks are declared/],
    [{ ports: ["8080:80"] }, "ports", /has none/],
    [{ networkAttachments: [attachment(net, { ip: "10.250.99.5" })] }, "networks[0].ip", /not in network .* subnet 10\.250\.205\.0\/24/],
    [{ networkAttachments: [attachment(net), attachment(net)] }, "networks[1]", /listed twice/],
  ];
  for (const [extra, field, reason] of bad) {
    const { failures } = await checkContainer("bad", extra);
    assert.ok(failures.some((f) => f.property === field && reason.test(f.reason)), `${field}: ${JSON.stringify(failures)}`);
  }
});

test("dns and extraHosts change in place: the files are rewritten under the running process", { skip, timeout: 60_000 }, async () => {
  const net = await network("names", "10.250.206.0/24");
  const c = await container("names", { networkAttachments: [attachment(net, { ip: "10.250.206.77" })], dns: ["10.250.206.1"], extraHosts: ["db.internal:10.250.206.9"] });
  assert.equal(c.outs.networkInterfaces[net.name!]?.ip, "10.250.206.77", "the declared address");
  const root = `/proc/${c.outs.pid}/root/etc`;
  assert.match(readFileSync(`${root}/resolv.conf`, "utf8"), /^nameserver 10\.250\.206\.1$/m);
  assert.match(readFileSync(`${root}/hosts`, "utf8"), /^10\.250\.206\.9\s+db\.internal$/m);
  const news = { ...c.inputs, dns: ["10.250.206.2"], extraHosts: ["db.internal:10.250.206.10"] };
  const d = await containers.diff!(c.outs.containerId, c.outs, news);
  assert.equal(d.changes, true);
  assert.equal(d.replaces, undefined, "no new container for a name change");
  const u = await containers.update!(c.outs.containerId, c.outs, news);
  assert.equal(u.outs!.pid, c.outs.pid);
  assert.match(readFileSync(`${root}/resolv.conf`, "utf8"), /^nameserver 10\.250\.206\.2$/m);
  assert.match(readFileSync(`${root}/hosts`, "utf8"), /^10\.250\.206\.10\s+db\.internal$/m);
});

test("a pod Namespace owns the networks: its containers share its address, peers resolve their names, and they cannot declare their own", { skip, timeout: 90_000 }, async () => {
  const net = await network("pod", "10.250.207.0/24");
  const checked = await namespaces.check!({} as NamespaceInputs, { resourceName: "pod", name: `${prefix}-pod`, __owner: testOwner("pod"), types: ["net", "uts", "ipc"], networkAttachments: [attachment(net)] });
  assert.deepEqual(checked.failures, []);
  const pod = (await namespaces.create(checked.inputs!)).outs!;
  madeSets.push(pod);
  const podIp = pod.networkInterfaces[net.name!]?.ip ?? "";
  assert.match(podIp, /^10\.250\.207\.\d+$/);
  const joined = { namespaceName: pod.name!, namespacePaths: pod.paths, namespaceInodes: pod.inodes, namespaceIdentity: pod.identity };
  const member = await container("member", { ...joined, command: HTTPD });
  assert.equal(statSync(`/proc/${member.outs.pid}/ns/net`).ino, pod.inodes.net);
  const peer = await container("peer", { networkAttachments: [attachment(net)] });
  for (const host of [`${prefix}-member`, `${prefix}-pod`]) {
    assert.equal(inContainer(peer.outs.pid, "wget", "-q", "-O", "-", `http://${host}/`).out.startsWith("hello from"), true, host);
  }
  assert.match(readFileSync(`/proc/${peer.outs.pid}/root/etc/hosts`, "utf8"), new RegExp(`^${podIp.replace(/\./g, "\\.")}\\s.*${prefix}-member`, "m"));
  const { failures } = await checkContainer("own", { ...joined, networkAttachments: [attachment(net)] });
  assert.ok(failures.some((f) => f.property === "networks" && /owns the networks and ports/.test(f.reason)), JSON.stringify(failures));
  const noNet = await namespaces.check!({} as NamespaceInputs, { resourceName: "nonet", name: `${prefix}-nonet`, __owner: testOwner("nonet"), types: ["ipc"], networkAttachments: [attachment(net)] });
  assert.equal(noNet.failures?.[0]?.property, "networks");
});

test("an internal network has no default route and no masquerading; another one masquerades its containers (checked by the rule, no packet sent)", { skip, timeout: 60_000 }, async () => {
  const inner = await network("inner", "10.250.212.0/24", { internal: true });
  const outer = await network("outer", "10.250.213.0/24");
  const a = await container("inner", { networkAttachments: [attachment(inner)] });
  const b = await container("outer", { networkAttachments: [attachment(outer)] });
  const routes = (id: string) => inNetns(join(runDir, "ns", netSetName(id), "net"), "ip", "-4", "route").out;
  assert.doesNotMatch(routes(a.outs.containerId), /^default/m, "no way out of an internal network");
  assert.match(routes(b.outs.containerId), /^default via 10\.250\.213\.1 dev eth0/m);
  const nat = spawnSync("iptables-save", ["-t", "nat"], { encoding: "utf8" }).stdout;
  const masqueradeOf = (id: string, ip: string): boolean => {
    const jump = nat.split("\n").find((l) => l.startsWith(`-A POSTROUTING -s ${ip}/32`) && l.includes(`id: \\"${id}\\"`));
    const chain = jump === undefined ? undefined : /-j (\S+)$/.exec(jump)?.[1];
    return chain !== undefined && nat.split("\n").some((l) => l.startsWith(`-A ${chain} `) && l.endsWith("-j MASQUERADE"));
  };
  assert.equal(masqueradeOf(a.outs.containerId, a.outs.networkInterfaces[inner.name!]!.ip), false);
  assert.equal(masqueradeOf(b.outs.containerId, b.outs.networkInterfaces[outer.name!]!.ip), true);
});

test("a Network in use is not deleted; once its containers are gone it goes with its bridge and leases", { skip, timeout: 60_000 }, async () => {
  const net = await network("inuse", "10.250.208.0/24");
  const c = await container("inuse", { networkAttachments: [attachment(net)] });
  await assert.rejects(networks.delete!(net.name!, net), (e: Error) => e instanceof ValidationError && e.message.includes(c.outs.containerId));
  assert.equal((await inspectBridge(net.bridge)).present, true);
  await remove(c.outs);
  await networks.delete!(net.name!, net);
  madeNetworks.splice(madeNetworks.indexOf(net), 1);
  assert.equal((await inspectBridge(net.bridge)).present, false, "bridge removed");
  assert.equal(existsSync(join(ipamDataDir(), net.name!)), false, "lease directory removed");
});

// hostform-runtime keeps runc's contract for networks: it does no networking of its own. A network
// namespace path in linux.namespaces is joined as it is, with the interface a CNI plugin put there
// (what containerd or podman do before `start`); a plain spec's own namespace keeps lo down, as
// runc leaves it. The plugins run in a "host" network namespace this file makes: no rule or packet
// reaches the machine's network.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runtimeCli, type RuntimeResult } from "../helpers/runtimeCli";
import { needsRoot } from "../../fixtures/prefix";
import { createNamespaces, deleteNamespaces, type NamespaceSetInfo } from "../../src/ns";
import { isMountPoint } from "../../src/ns/pin";
import { bridgeConfList } from "../../src/net/bridgeConfList";
import { addNetwork, delNetwork } from "../../src/net/cniChain";
import { MNT_DETACH } from "../../src/sys/constants";
import { umount2 } from "../../src/sys/libc";
import { makeSupervisorFixture, type SupervisorFixture } from "./supervisorFixture";
import { NO_CNI_PLUGINS } from "../../fixtures/cniNetns";

const skip = needsRoot || NO_CNI_PLUGINS;
let f: SupervisorFixture;
let host: NamespaceSetInfo;
let box: NamespaceSetInfo;

before(async () => {
  if (skip !== false) return;
  f = makeSupervisorFixture("ocinet");
  host = await createNamespaces(`${f.prefix}-host`, ["net"]);
  box = await createNamespaces(`${f.prefix}-box`, ["net"]);
});

after(async () => {
  if (skip !== false) return;
  for (const s of [box, host]) if (s !== undefined) await deleteNamespaces(s.name).catch(() => undefined);
  if (isMountPoint(join(f.runDir, "ns"))) umount2(join(f.runDir, "ns"), MNT_DETACH);
  await f.cleanup();
});


function runtime(...args: string[]): RuntimeResult {
  return runtimeCli(f.runDir, f.bundle, args);
}

/** `hostform-runtime run` of a spec whose network namespace is `netns` (its own when undefined); what it printed. */
async function runWith(netns: string | undefined, argv: string[]): Promise<string> {
  const spec = f.spec(argv);
  spec.root.path = "rootfs";
  const ns = spec.linux!.namespaces!.find((n) => n.type === "network")!;
  if (netns !== undefined) ns.path = netns;
  writeFileSync(join(f.bundle, "config.json"), JSON.stringify(spec));
  const id = f.id("net");
  // The container's stdout is run's, as under runc.
  const r = runtime("run", "--bundle", f.bundle, id);
  assert.equal(r.code, 0, r.err);
  return r.out;
}

test("a network namespace path is joined with what CNI put there and the runtime adds nothing; a plain spec's own namespace gets lo up, as runc's does", { skip, timeout: 60_000 }, async () => {
  const list = bridgeConfList({ name: `${f.prefix}-net`, bridge: "hf-ocitest0", subnet: "10.250.210.0/24" });
  const at = { containerId: `${f.prefix}-c`, netns: box.paths.net!, ifname: "eth0" };
  const result = await addNetwork(list, at, { hostNetns: host.paths.net! });
  try {
    const ip = result.ips![0]!.address;
    const joined = await runWith(box.paths.net!, ["busybox", "ip", "-o", "-4", "addr", "show"]);
    assert.match(joined, new RegExp(`eth0\\s+inet ${ip.replace(/\./g, "\\.")}`), joined);
    // The namespace's owner (src/ns) brought lo up; the runtime neither adds nor removes anything.
    assert.match(joined, /lo\s+inet 127\.0\.0\.1/);
    const links = (await runWith(box.paths.net!, ["busybox", "ip", "-o", "link", "show"])).trim().split("\n").map((l) => l.split(":")[1]!.trim().split("@")[0]);
    assert.deepEqual(links.sort(), ["eth0", "lo"]);
    // A plain OCI spec's own network namespace gets lo up and nothing more, as under runc.
    const own = await runWith(undefined, ["busybox", "ip", "-o", "link", "show"]);
    assert.match(own, /^1: lo: <LOOPBACK,UP,LOWER_UP>/, own);
    assert.equal(own.trim().split("\n").length, 1, own);
  } finally {
    await delNetwork(list, at, { hostNetns: host.paths.net! });
  }
});

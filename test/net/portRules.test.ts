// The ports the portmap plugin published, read back from the nat table, against the real plugin. The
// plugins run in a "host" network namespace this file makes; the containers' ends are in others.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { useTestRunDir } from "../../fixtures/nsRunDir";
import { useNetnsSets } from "../../fixtures/netnsSets";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { bridgeConfList } from "../../src/net/bridgeConfList";
import { addNetwork, delNetwork } from "../../src/net/cniChain";
import type { CniAttachment } from "../../src/net/cniTypes";
import { livePortMappings } from "../../src/net/portRules";
import { parsePorts, toCniPortMappings, type PublishedPort } from "../../src/net/portSpec";
import { inNetns, NO_CNI_PLUGINS } from "../../fixtures/cniNetns";

const cleanRunDir = useTestRunDir();
const prefix = testPrefix("portrules");
const skip = needsRoot || NO_CNI_PLUGINS;

const ns = useNetnsSets(prefix, ["host", "box1", "box2"], skip);
// Deleting the sets removes their namespaces, and with them the bridge, veths and rules in them.
after(() => cleanRunDir());

function inHost(...argv: string[]): string {
  const r = inNetns(ns.host.paths.net!, ...argv);
  assert.equal(r.code, 0, `${argv.join(" ")}: ${r.err}`);
  return r.out;
}

/** The nat table's -A lines of chain, in order. */
function natRules(chain: string): string[] {
  return inHost("iptables-save", "-t", "nat").split("\n").filter((l) => l.startsWith(`-A ${chain} `));
}

const byPort = (a: PublishedPort, b: PublishedPort): number => a.hostPort - b.hostPort || a.protocol.localeCompare(b.protocol);

test("livePortMappings reads back what portmap published for one container, and loses a port whose rule is removed out of band", { skip, timeout: 120_000 }, async () => {
  const options = { hostNetns: ns.host.paths.net! };
  const list = bridgeConfList({ name: `${prefix}-net`.slice(0, 60), bridge: "hf-br102", subnet: "10.250.102.0/24" });
  const ports1 = parsePorts(["127.0.0.1:18080:80", "18081:81/tcp", "18080:53/udp", "127.0.0.1:5354:54/udp"]);
  const ports2 = parsePorts(["18090:80"]);
  const at1: CniAttachment = { containerId: `${prefix}-c1`, netns: ns.box1.paths.net!, ifname: "eth0", runtimeConfig: { portMappings: toCniPortMappings(ports1) } };
  const at2: CniAttachment = { containerId: `${prefix}-c2`, netns: ns.box2.paths.net!, ifname: "eth0", runtimeConfig: { portMappings: toCniPortMappings(ports2) } };
  await addNetwork(list, at1, options);
  await addNetwork(list, at2, options);
  try {
    assert.deepEqual((await livePortMappings(list.name, at1.containerId, options)).sort(byPort), [...ports1].sort(byPort));
    assert.deepEqual(await livePortMappings(list.name, at2.containerId, options), ports2, "each container's own ports");
    assert.deepEqual(await livePortMappings(list.name, `${prefix}-nobody`, options), []);
    assert.deepEqual(await livePortMappings(`${prefix}-other`, at1.containerId, options), [], "keyed by network too");

    // One DNAT rule deleted: that port alone is gone.
    const chain = /-j (CNI-DN-\S+)/.exec(natRules("CNI-HOSTPORT-DNAT").find((l) => l.includes(at1.containerId))!)![1]!;
    const dnat = natRules(chain).find((l) => / --dport 18081 .*-j DNAT /.test(l))!;
    inHost("iptables", "-t", "nat", "-D", ...dnat.split(" ").slice(1));
    assert.deepEqual((await livePortMappings(list.name, at1.containerId, options)).sort(byPort), ports1.filter((p) => p.hostPort !== 18081).sort(byPort));

    // The container's udp jump deleted: its udp ports are gone (18080/udp too), its tcp one stays.
    const udpJump = natRules("CNI-HOSTPORT-DNAT").findIndex((l) => l.includes(at1.containerId) && l.includes("-p udp"));
    inHost("iptables", "-t", "nat", "-D", "CNI-HOSTPORT-DNAT", String(udpJump + 1));
    assert.deepEqual(await livePortMappings(list.name, at1.containerId, options), ports1.filter((p) => p.hostPort === 18080 && p.protocol === "tcp"));
    assert.deepEqual(await livePortMappings(list.name, at2.containerId, options), ports2, "the other container is untouched");

    // The jump from OUTPUT deleted: locally sent traffic reaches no published port at all.
    inHost("iptables", "-t", "nat", "-D", "OUTPUT", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "CNI-HOSTPORT-DNAT");
    assert.deepEqual(await livePortMappings(list.name, at2.containerId, options), []);
  } finally {
    await delNetwork(list, at1, options);
    await delNetwork(list, at2, options);
  }
  assert.deepEqual(await livePortMappings(list.name, at1.containerId, options), []);
  assert.deepEqual(await livePortMappings(list.name, at2.containerId, options), []);
});

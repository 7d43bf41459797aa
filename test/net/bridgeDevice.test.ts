// A Network's bridge made ahead of the CNI bridge plugin, which must take it as its own, read back
// for drift, and removed; and a container's interface read from its namespace. Everything happens in
// network namespaces this file makes ("host", where the bridge lives, and "box", a container's).
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { useTestRunDir } from "../../fixtures/nsRunDir";
import { useNetnsSets } from "../../fixtures/netnsSets";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { bridgeConfList } from "../../src/net/bridgeConfList";
import { deleteBridge, ensureBridge, inspectBridge } from "../../src/net/bridgeDevice";
import { addNetwork, delNetwork } from "../../src/net/cniChain";
import type { CniAttachment } from "../../src/net/cniTypes";
import { inspectInterface } from "../../src/net/linkState";
import { HostformError, ValidationError } from "../../src/sys/errors";
import { inNetns, NO_CNI_PLUGINS } from "../../fixtures/cniNetns";

const cleanRunDir = useTestRunDir();
const prefix = testPrefix("bridge");
const skip = needsRoot || NO_CNI_PLUGINS;

const ns = useNetnsSets(prefix, ["host", "box"], skip);
// Deleting the sets removes their namespaces, and with them every bridge, veth and rule in them.
after(() => cleanRunDir());

function inHost(...argv: string[]): string {
  const r = inNetns(ns.host.paths.net!, ...argv);
  assert.equal(r.code, 0, `${argv.join(" ")}: ${r.err}`);
  return r.out;
}

function macOf(ifname: string): string {
  return (JSON.parse(inHost("ip", "-j", "link", "show", "dev", ifname)) as { address: string }[])[0]!.address;
}

test("ensureBridge makes what the bridge plugin makes: the plugin attaches to it, and drift shows and is repaired", { skip, timeout: 120_000 }, async () => {
  const options = { hostNetns: ns.host.paths.net! };
  const spec = { name: "hf-br100", gatewayCidr: "10.250.100.1/24", mtu: 1400 };
  assert.deepEqual(await inspectBridge(spec.name, options), { present: false, up: false, addresses: [], ports: [] });
  await ensureBridge(spec, options);
  await ensureBridge(spec, options); // idempotent
  assert.deepEqual(await inspectBridge(spec.name, options), { present: true, up: true, addresses: ["10.250.100.1/24"], mtu: 1400, ports: [] });

  // Its MAC is pinned, as the plugin pins it: a port with a lower MAC does not take it over.
  const mac = macOf(spec.name);
  inHost("ip", "link", "add", "hf-low100", "address", "02:00:00:00:00:01", "type", "veth", "peer", "name", "hf-lowp100");
  inHost("ip", "link", "set", "hf-low100", "master", spec.name);
  assert.equal(macOf(spec.name), mac, "the bridge keeps its own MAC");
  inHost("ip", "link", "del", "hf-low100");

  const list = bridgeConfList({ name: `${prefix}-net`.slice(0, 60), bridge: spec.name, subnet: "10.250.100.0/24", mtu: 1400 });
  const at: CniAttachment = { containerId: `${prefix}-c1`, netns: ns.box.paths.net!, ifname: "eth0" };
  const result = await addNetwork(list, at, options);
  try {
    const hostEnd = result.interfaces?.find((i) => i.sandbox === undefined && i.name !== spec.name)?.name;
    const boxEnd = result.interfaces?.find((i) => i.sandbox !== undefined);
    const ip = result.ips?.[0]?.address;
    assert.ok(hostEnd !== undefined && boxEnd !== undefined && ip !== undefined, JSON.stringify(result));
    assert.deepEqual(await inspectBridge(spec.name, options), { present: true, up: true, addresses: ["10.250.100.1/24"], mtu: 1400, ports: [hostEnd] }, "the plugin used the bridge as it was");
    assert.equal(macOf(spec.name), mac);

    // The container's end, read from its namespace.
    assert.deepEqual(await inspectInterface(ns.box.paths.net!, "eth0"), { present: true, mac: boxEnd.mac, addresses: [ip] });
    assert.deepEqual(await inspectInterface(ns.box.paths.net!, "eth9"), { present: false, addresses: [] });

    // Out of band: address flushed, bridge down, veth removed. inspect sees each; ensureBridge repairs the bridge.
    inHost("ip", "addr", "flush", "dev", spec.name);
    inHost("ip", "link", "set", spec.name, "down");
    inHost("ip", "link", "del", hostEnd);
    assert.deepEqual(await inspectBridge(spec.name, options), { present: true, up: false, addresses: [], mtu: 1400, ports: [] });
    assert.deepEqual(await inspectInterface(ns.box.paths.net!, "eth0"), { present: false, addresses: [] }, "a veth dies with its peer");
    await ensureBridge(spec, options);
    assert.deepEqual(await inspectBridge(spec.name, options), { present: true, up: true, addresses: ["10.250.100.1/24"], mtu: 1400, ports: [] });
  } finally {
    await delNetwork(list, at, options);
  }

  await deleteBridge(spec.name, options);
  await deleteBridge(spec.name, options); // idempotent
  assert.deepEqual(await inspectBridge(spec.name, options), { present: false, up: false, addresses: [], ports: [] });
  assert.doesNotMatch(inHost("ip", "-o", "link"), /hf-br100/);
});

test("ensureBridge refuses an interface that is not a bridge and a bridge with another address; deleteBridge leaves a non-bridge alone", { skip, timeout: 60_000 }, async () => {
  const options = { hostNetns: ns.host.paths.net! };
  inHost("ip", "link", "add", "hf-dum101", "type", "veth", "peer", "name", "hf-dump101");
  await assert.rejects(ensureBridge({ name: "hf-dum101", gatewayCidr: "10.250.101.1/24" }, options), (e: Error) => e instanceof ValidationError && e.field === "bridge" && /hf-dum101 exists and is a veth, not a bridge/.test(e.message) && e.hint !== undefined);
  assert.equal((await inspectBridge("hf-dum101", options)).present, false, "a veth is no bridge");
  await assert.rejects(deleteBridge("hf-dum101", options), (e: Error) => e instanceof HostformError && /not a bridge/.test(e.message));
  assert.match(inHost("ip", "-o", "link", "show", "hf-dum101"), /hf-dum101/, "the veth is still there");

  await ensureBridge({ name: "hf-br101", gatewayCidr: "10.250.101.1/24" }, options);
  await assert.rejects(ensureBridge({ name: "hf-br101", gatewayCidr: "10.250.101.2/24" }, options), (e: Error) => e instanceof ValidationError && e.field === "gateway" && /already has address 10\.250\.101\.1\/24, not 10\.250\.101\.2\/24/.test(e.message));
  await assert.rejects(ensureBridge({ name: "hf-br101", gatewayCidr: "10.250.101.1" }, options), (e: Error) => e instanceof ValidationError && e.field === "gatewayCidr");
  await deleteBridge("hf-br101", options);
});

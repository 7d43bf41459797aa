// The CNI layer against the real reference plugins. Everything happens inside network namespaces
// this file makes: a "host" namespace where the plugins run (bridge, host end of the veth, iptables
// rules) and a container namespace. No packet and no rule reaches the machine's own network.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { useNetnsSets } from "../../fixtures/netnsSets";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { bridgeConfList, ipamDataDir, validateBridgeNetwork } from "../../src/net/bridgeConfList";
import { addNetwork, cachedResult, checkNetwork, delNetwork } from "../../src/net/cniChain";
import { CniError } from "../../src/net/cniExec";
import type { CniAttachment } from "../../src/net/cniTypes";
import { runDir } from "../../src/sys/paths";
import { ValidationError } from "../../src/sys/errors";
import { useTestRunDir } from "../../fixtures/nsRunDir";
import { inNetns, NO_CNI_PLUGINS } from "../../fixtures/cniNetns";

const cleanRunDir = useTestRunDir();
const prefix = testPrefix("cni");
const skip = needsRoot || NO_CNI_PLUGINS;

const ns = useNetnsSets(prefix, ["host", "box"], skip);
// Deleting the sets removes their namespaces, and with them the bridge, veths and rules in them.
after(() => cleanRunDir());


test("a bridge network's declaration is checked field by field", () => {
  const ok = validateBridgeNetwork({ name: "web", bridge: "hf-web", subnet: "10.250.3.0/24" });
  assert.equal(ok.gateway, "10.250.3.1");
  const bad: [Parameters<typeof validateBridgeNetwork>[0], string, RegExp][] = [
    [{ name: "web", bridge: "hf-web", subnet: "10.250.3.7/24" }, "subnet", /did you mean 10\.250\.3\.0\/24/],
    [{ name: "web", bridge: "hf-web", subnet: "10.250.3.0/33" }, "subnet", /not an IPv4 CIDR/],
    [{ name: "web", bridge: "hf-web", subnet: "10.250.3.0/24", gateway: "10.250.4.1" }, "gateway", /not in subnet 10\.250\.3\.0\/24/],
    [{ name: "web", bridge: "hf-web", subnet: "10.250.3.0/24", gateway: "10.250.3.255" }, "gateway", /broadcast/],
    [{ name: "web", bridge: "a-very-long-bridge-name", subnet: "10.250.3.0/24" }, "bridge", /not a Linux interface name/],
    [{ name: "web", bridge: "hf-web", subnet: "10.250.3.0/24", mtu: 9 }, "mtu", /not an MTU/],
  ];
  for (const [conf, field, message] of bad) {
    assert.throws(() => validateBridgeNetwork(conf), (e: Error) => e instanceof ValidationError && e.field === field && message.test(e.message), `${field}: ${JSON.stringify(conf)}`);
  }
});

test("ADD attaches a namespace to a bridge with an address, a published port and masquerade; CHECK sees out-of-band removal; DEL leaves nothing", { skip, timeout: 120_000 }, async () => {
  const list = bridgeConfList({ name: `${prefix}-net`.slice(0, 60), bridge: "hf-test0", subnet: "10.250.7.0/24" });
  const at: CniAttachment = { containerId: `${prefix}-c1`, netns: ns.box.paths.net!, ifname: "eth0", runtimeConfig: { portMappings: [{ hostPort: 18080, containerPort: 80, protocol: "tcp", hostIP: "127.0.0.1" }] } };
  const options = { hostNetns: ns.host.paths.net! };
  const result = await addNetwork(list, at, options);
  const ip = result.ips?.[0]?.address;
  assert.match(ip ?? "", /^10\.250\.7\.\d+\/24$/, JSON.stringify(result));
  const address = ip!.split("/")[0]!;
  assert.deepEqual(cachedResult(list, at), result, "the result is cached for DEL and CHECK");

  // The container end, the bridge with the gateway, and the rules, each where it belongs.
  assert.match(inNetns(ns.box.paths.net!, "ip", "-o", "-4", "addr", "show", "eth0").out, new RegExp(`inet ${ip!.replace(/\./g, "\\.")}`));
  assert.match(inNetns(ns.host.paths.net!, "ip", "-o", "-4", "addr", "show", "hf-test0").out, /inet 10\.250\.7\.1\/24/);
  const nat = inNetns(ns.host.paths.net!, "iptables", "-t", "nat", "-S").out;
  assert.match(nat, /MASQUERADE/, "outbound NAT, checked by its rule");
  assert.match(nat, /--dport 18080 .*-j DNAT --to-destination 10\.250\.7\.\d+:80|-j DNAT --to-destination 10\.250\.7\.\d+:80/, nat);

  // Traffic, all of it between the two namespaces made here.
  const www = join(runDir(), `${prefix}-www`);
  mkdirSync(www, { recursive: true });
  writeFileSync(join(www, "index.html"), "hello from the box\n");
  const server = spawn("nsenter", [`--net=${ns.box.paths.net!}`, "--", "busybox", "httpd", "-f", "-p", "80", "-h", www], { stdio: "ignore" });
  try {
    let direct = { code: null as number | null, out: "" };
    for (let i = 0; i < 40 && direct.code !== 0; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      direct = inNetns(ns.host.paths.net!, "curl", "-sS", "-m", "2", `http://${address}/index.html`);
    }
    assert.equal(direct.out, "hello from the box\n", "the host reaches the container's address over the bridge");
    const published = inNetns(ns.host.paths.net!, "curl", "-sS", "-m", "2", "http://127.0.0.1:18080/index.html");
    assert.equal(published.out, "hello from the box\n", "the published port answers on 127.0.0.1");
  } finally {
    server.kill("SIGKILL");
  }

  await checkNetwork(list, at, options);
  await delNetwork(list, at, options);
  await delNetwork(list, at, options); // idempotent
  assert.equal(cachedResult(list, at), undefined);
  const leases = join(ipamDataDir(), list.name);
  assert.deepEqual(existsSync(leases) ? readdirSync(leases).filter((f) => /^\d+\./.test(f)) : [], [], "no IPAM lease left");
  const natAfter = inNetns(ns.host.paths.net!, "iptables", "-t", "nat", "-S").out;
  assert.doesNotMatch(natAfter, /18080|10\.250\.7\./, natAfter);
  assert.doesNotMatch(inNetns(ns.box.paths.net!, "ip", "-o", "link").out, /eth0/, "the container's interface is gone");

  // Out of band: the container's interface is removed. CHECK names it.
  await addNetwork(list, at, options);
  assert.equal(inNetns(ns.box.paths.net!, "ip", "link", "del", "eth0").code, 0);
  await assert.rejects(checkNetwork(list, at, options), (e: Error) => e instanceof CniError && e.command === "CHECK" && /eth0/.test(e.message));
  // (The bridge plugin's DEL finds the addresses to unmasquerade on that interface: with it gone,
  // its rules stay in this test's own "host" namespace, which the test deletes.)
  await delNetwork(list, at, options);
});

test("a plugin error is a CniError naming the network, the plugin and its message, and ADD leaves nothing half-made", { skip, timeout: 60_000 }, async () => {
  const list = bridgeConfList({ name: `${prefix}-bad`.slice(0, 60), bridge: "hf-test1", subnet: "10.250.8.0/24" });
  const at: CniAttachment = { containerId: `${prefix}-c2`, netns: "/nonexistent/netns", ifname: "eth0" };
  await assert.rejects(addNetwork(list, at, { hostNetns: ns.host.paths.net! }), (e: Error) => e instanceof CniError && e.plugin === "bridge" && e.network === list.name && /nonexistent/.test(e.message));
  assert.equal(cachedResult(list, at), undefined);
  const leases = join(ipamDataDir(), list.name);
  assert.deepEqual(existsSync(leases) ? readdirSync(leases).filter((f) => /^\d+\./.test(f)) : [], [], "no lease kept by a failed ADD");
});

// The conflist of a hostform bridge network, on the CNI reference plugins: bridge (the Linux bridge,
// a veth per container, host-local IPAM, and masquerade unless internal), portmap (published ports,
// DNAT with SNAT so that 127.0.0.1 works), firewall (lets the bridge's traffic through FORWARD).
import { join } from "node:path";
import { ValidationError } from "../sys/errors";
import { runDir } from "../sys/paths";
import { CNI_VERSION, type CniConfList } from "./cniTypes";
import { parseSubnet, type Subnet } from "./ipv4";

export interface BridgeNetworkConfig {
  /** The network's name: the conflist's, and the key of its leases and cached results. */
  name: string;
  /** Linux bridge device name (at most 15 bytes). */
  bridge: string;
  /** IPv4 CIDR, e.g. "10.89.0.0/24". */
  subnet: string;
  /** The bridge's address; the subnet's first host by default. */
  gateway?: string;
  /** No masquerade and no default route: containers reach each other and the host, nothing beyond. */
  internal?: boolean;
  mtu?: number;
}

/** Where host-local keeps each network's leases (a directory per network name). */
export function ipamDataDir(): string {
  return join(runDir(), "cni", "networks");
}

export interface ValidBridgeNetwork {
  name: string;
  bridge: string;
  subnet: Subnet;
  gateway: string;
  internal: boolean;
  mtu?: number;
}

/** Checks a declaration, naming the field and the fix. */
export function validateBridgeNetwork(c: BridgeNetworkConfig): ValidBridgeNetwork {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(c.name)) throw new ValidationError("name", `"${c.name}" is not a network name`, "use letters, digits, '_', '.' and '-'");
  if (Buffer.byteLength(c.bridge) > 15 || !/^[a-zA-Z0-9_.-]+$/.test(c.bridge)) throw new ValidationError("bridge", `"${c.bridge}" is not a Linux interface name`, "at most 15 letters, digits, '_', '.' or '-'");
  const subnet = parseSubnet(c.subnet, "subnet");
  if (subnet.prefix > 30) throw new ValidationError("subnet", `${c.subnet} leaves no address for containers`, "use a /30 or larger subnet, e.g. /24");
  const gateway = c.gateway ?? subnet.host(1);
  if (!subnet.contains(gateway, "gateway")) throw new ValidationError("gateway", `${gateway} is not in subnet ${subnet.cidr}`, `pick an address inside ${subnet.cidr}, or leave gateway out`);
  if (gateway === subnet.network || gateway === subnet.broadcast) throw new ValidationError("gateway", `${gateway} is the subnet's ${gateway === subnet.network ? "network" : "broadcast"} address`, `pick a host address of ${subnet.cidr}`);
  if (c.mtu !== undefined && (!Number.isInteger(c.mtu) || c.mtu < 576 || c.mtu > 65535)) throw new ValidationError("mtu", `${c.mtu} is not an MTU`, "an integer from 576 to 65535 (1500 for Ethernet)");
  const out: ValidBridgeNetwork = { name: c.name, bridge: c.bridge, subnet, gateway, internal: c.internal === true };
  if (c.mtu !== undefined) out.mtu = c.mtu;
  return out;
}

export function bridgeConfList(c: BridgeNetworkConfig): CniConfList {
  const n = validateBridgeNetwork(c);
  const bridge: Record<string, unknown> = {
    type: "bridge",
    // runtimeConfig.ips reaches host-local through the bridge: how a declared (or kept) address is asked for.
    capabilities: { ips: true },
    bridge: n.bridge,
    isGateway: true,
    ipMasq: !n.internal,
    hairpinMode: true,
    ipam: {
      type: "host-local",
      ranges: [[{ subnet: n.subnet.cidr, gateway: n.gateway }]],
      // Internal: only the subnet's own route, so nothing beyond the host is even attempted.
      routes: n.internal ? [] : [{ dst: "0.0.0.0/0" }],
      dataDir: ipamDataDir(),
    },
  };
  if (n.mtu !== undefined) bridge.mtu = n.mtu;
  return {
    cniVersion: CNI_VERSION,
    name: n.name,
    plugins: [bridge as CniConfList["plugins"][number], { type: "portmap", capabilities: { portMappings: true }, snat: true }, { type: "firewall" }],
  };
}

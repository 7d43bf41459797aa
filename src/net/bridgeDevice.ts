// A Network's Linux bridge as a live object, through iproute2's JSON output: made before any
// container is attached (the way the CNI bridge plugin makes it on its first ADD with isGateway, so
// the plugin takes it as its own), read back for drift, removed with the Network.
import { HostformError, ValidationError, withContext } from "../sys/errors";
import { parseIpv4 } from "./ipv4";
import { addressesOf, readInterface } from "./linkState";
import { ipJson, runNetCommand, type NetnsOptions } from "./netnsCommand";

export interface BridgeSpec {
  /** The bridge device's name. */
  name: string;
  /** The gateway address with the subnet's prefix: "10.89.0.1/24". */
  gatewayCidr: string;
  mtu?: number;
}

export interface BridgeState {
  present: boolean;
  up: boolean;
  /** CIDR form; IPv6 link-local addresses (the kernel makes them by itself) are left out. */
  addresses: string[];
  mtu?: number;
  /** Names of the interfaces enslaved to it (the host ends of the containers' veths). */
  ports: string[];
}

/** The bridge's state; present is false when there is no bridge of that name (even if another kind of interface has it). */
export async function inspectBridge(name: string, options: NetnsOptions = {}): Promise<BridgeState> {
  try {
    const l = await readInterface(name, options);
    if (l === undefined || l.linkinfo?.info_kind !== "bridge") return { present: false, up: false, addresses: [], ports: [] };
    const ports = await ipJson<{ ifname: string }[]>(["link", "show", "master", name], options);
    const state: BridgeState = { present: true, up: (l.flags ?? []).includes("UP"), addresses: addressesOf(l), ports: ports.map((p) => p.ifname) };
    if (l.mtu !== undefined) state.mtu = l.mtu;
    return state;
  } catch (err) {
    throw withContext(err, `inspect bridge ${name}`);
  }
}

/**
 * Makes the bridge, or completes it: created if missing, given the gateway address if it lacks
 * it, the MTU if it has another, and set up. Refuses an interface of that name that is not a bridge, and a bridge
 * with another IPv4 address, which the bridge plugin would refuse on ADD.
 */
export async function ensureBridge(spec: BridgeSpec, options: NetnsOptions = {}): Promise<void> {
  const [gateway, prefix] = gatewayOf(spec.gatewayCidr);
  try {
    let l = await readInterface(spec.name, options);
    if (l !== undefined && l.linkinfo?.info_kind !== "bridge") {
      throw new ValidationError("bridge", `an interface named ${spec.name} exists and is ${l.linkinfo?.info_kind !== undefined ? `a ${l.linkinfo.info_kind}` : "a physical device"}, not a bridge`, "give the network another bridge name, or remove that interface");
    }
    if (l === undefined) {
      await runNetCommand(["ip", "link", "add", "name", spec.name, "type", "bridge"], options);
      l = await readInterface(spec.name, options);
      if (l === undefined) throw new HostformError(`bridge ${spec.name} is not there after ip link add`);
    }
    const cidr = `${gateway}/${prefix}`;
    const v4 = (l.addr_info ?? []).filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`);
    const other = v4.find((a) => a !== cidr);
    if (other !== undefined) {
      throw new ValidationError("gateway", `bridge ${spec.name} already has address ${other}, not ${cidr}`, "the bridge plugin accepts one IPv4 address per bridge: use that address as gateway, or another bridge name");
    }
    if (v4.length === 0) {
      await runNetCommand(["ip", "addr", "add", cidr, "brd", "+", "dev", spec.name], options);
      // As the plugin does after adding the address: pin the bridge's MAC, which otherwise follows
      // the lowest MAC among its ports and changes as containers come and go.
      if (l.address !== undefined) await runNetCommand(["ip", "link", "set", "dev", spec.name, "address", l.address], options);
    }
    // Set after creation, not with it: only a changed MTU counts as the user's, which the kernel
    // keeps; one given at creation follows the ports' (and is 1500 again when the last one leaves).
    if (spec.mtu !== undefined && l.mtu !== spec.mtu) await runNetCommand(["ip", "link", "set", "dev", spec.name, "mtu", String(spec.mtu)], options);
    await runNetCommand(["ip", "link", "set", "dev", spec.name, "up"], options);
  } catch (err) {
    throw withContext(err, `make bridge ${spec.name}`);
  }
}

function gatewayOf(cidr: string): [string, number] {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(cidr);
  const prefix = Number(m?.[2]);
  if (m === null || parseIpv4(m[1]!) === undefined || !(prefix >= 0 && prefix <= 32)) {
    throw new ValidationError("gatewayCidr", `"${cidr}" is not an IPv4 address with a prefix`, 'e.g. "10.89.0.1/24"');
  }
  return [m[1]!, prefix];
}

/** Removes the bridge; nothing to do when it is gone. An interface of that name that is not a bridge is left alone, with an error. */
export async function deleteBridge(name: string, options: NetnsOptions = {}): Promise<void> {
  try {
    const l = await readInterface(name, options);
    if (l === undefined) return;
    if (l.linkinfo?.info_kind !== "bridge") throw new HostformError(`${name} is a ${l.linkinfo?.info_kind ?? "physical device"}, not a bridge: left as it is`);
    await runNetCommand(["ip", "link", "del", "dev", name], options);
  } catch (err) {
    throw withContext(err, `delete bridge ${name}`);
  }
}

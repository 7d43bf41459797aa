// One network interface as iproute2 reports it (`ip -j -d addr`), in a given network namespace:
// whether it is there, its MAC and its addresses. Drift checks compare this with what ADD returned.
import { withContext } from "../sys/errors";
import { ipJson, type NetnsOptions } from "./netnsCommand";

/** The fields hostform reads of an `ip -j -d addr show` entry. */
export interface IpInterface {
  ifname: string;
  flags?: string[];
  mtu?: number;
  /** The MAC. */
  address?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[];
}

export interface InterfaceState {
  present: boolean;
  mac?: string;
  /** CIDR form; IPv6 link-local addresses (the kernel makes them by itself) are left out. */
  addresses: string[];
}

/** The interface named ifname in the namespace, or undefined when there is none. */
export async function readInterface(ifname: string, options: NetnsOptions = {}): Promise<IpInterface | undefined> {
  // Listing them all and picking by name: `ip addr show dev X` tells absence only in its error text.
  const all = await ipJson<IpInterface[]>(["-d", "addr", "show"], options);
  return all.find((l) => l.ifname === ifname);
}

/** The CIDRs of an interface, without IPv6 link-local ones. */
export function addressesOf(entry: IpInterface): string[] {
  return (entry.addr_info ?? []).filter((a) => !(a.family === "inet6" && a.scope === "link")).map((a) => `${a.local}/${a.prefixlen}`);
}

/** The interface ifname inside the network namespace at netnsPath; absent is present:false, not an error. */
export async function inspectInterface(netnsPath: string, ifname: string): Promise<InterfaceState> {
  let l: IpInterface | undefined;
  try {
    l = await readInterface(ifname, { hostNetns: netnsPath });
  } catch (err) {
    throw withContext(err, `inspect interface ${ifname} in ${netnsPath}`);
  }
  if (l === undefined) return { present: false, addresses: [] };
  const state: InterfaceState = { present: true, addresses: addressesOf(l) };
  if (l.address !== undefined) state.mac = l.address;
  return state;
}

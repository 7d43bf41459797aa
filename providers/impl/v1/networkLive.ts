// A Container's (or pod's) network as the host has it: each interface in its namespace with its
// address and the plugins' CHECK, the published ports' rules; what went missing out of band, and the
// repair that puts it back keeping every address.
import { checkAttachment, readAttachment, reattachNetwork, republishPorts } from "../../../src/net/attachments";
import { CniError } from "../../../src/net/cniExec";
import { inspectInterface } from "../../../src/net/linkState";
import { parseIpv4 } from "../../../src/net/ipv4";
import { putMember, refreshMember } from "../../../src/net/members";
import { livePortMappings } from "../../../src/net/portRules";
import { formatPort } from "../../../src/net/portSpec";
import { ValidationError } from "../../../src/sys/errors";
import { hasNames, hasNetworks, memberOf, present, type ContainerNetworkInputs } from "./networkDeclaration";

/** One network's interface in the container, live. */
export interface NetworkInterfaceLive {
  interface: string;
  ip: string;
  mac: string;
  /** "ok", or the CNI CHECK's complaint (e.g. the bridge is gone). */
  check: string;
}

/** What the container's network looks like live. */
export interface NetworkLive {
  /** Per network name: interface, IPv4 address, MAC, and "ok" or what the plugins' CHECK found wrong. Absent: the interface is gone. */
  networkInterfaces: Record<string, NetworkInterfaceLive>;
  /** The published ports whose rules are in place, "127.0.0.1:8080->80/tcp". */
  publishedPorts: string[];
}

/** The live network of a container with networks; undefined without any. */
export async function observeNetwork(inputs: ContainerNetworkInputs): Promise<NetworkLive | undefined> {
  if (!hasNetworks(inputs)) return undefined;
  const id = inputs.name!;
  const record = readAttachment(id);
  const live: NetworkLive = { networkInterfaces: {}, publishedPorts: [] };
  if (record === undefined) return live;
  for (const [i, n] of record.networks.entries()) {
    const link = await inspectInterface(record.netns, n.ifname);
    if (!link.present) continue;
    const ip = link.addresses.map((a) => a.split("/")[0]!).find((a) => parseIpv4(a) !== undefined) ?? "";
    // What the plugins check beyond the interface: its host end on the bridge, the bridge's address, the lease.
    const check = await checkAttachment(id, i).then(() => "ok", (err: unknown) => (err instanceof CniError ? err.msg : String(err)));
    live.networkInterfaces[n.network] = { interface: n.ifname, ip, mac: link.mac ?? "", check };
  }
  const first = record.networks[0];
  if (first !== undefined && record.ports.length > 0) live.publishedPorts = (await livePortMappings(first.network, id)).map(formatPort).sort();
  return live;
}

/** What observeNetwork should find when nothing was changed out of band. */
export function expectedNetwork(inputs: ContainerNetworkInputs): NetworkLive | undefined {
  if (!hasNetworks(inputs)) return undefined;
  const record = readAttachment(inputs.name!);
  const out: NetworkLive = { networkInterfaces: {}, publishedPorts: [] };
  for (const n of record?.networks ?? []) out.networkInterfaces[n.network] = { interface: n.ifname, ip: n.ip, mac: n.mac, check: "ok" };
  out.publishedPorts = (record?.ports ?? []).map(formatPort).sort();
  return out;
}

/** What went missing out of band: networks whose interface or address did (by index), and whether port rules did. */
export interface NetworkDamage {
  networks: number[];
  ports: boolean;
}

/** Whether anything of the container's network is missing. */
export function isDamaged(d: NetworkDamage): boolean {
  return d.networks.length > 0 || d.ports;
}

/** Compares the live network with what was attached. */
export async function networkDamage(inputs: ContainerNetworkInputs, live: NetworkLive): Promise<NetworkDamage> {
  const record = readAttachment(inputs.name!);
  if (record === undefined) return { networks: (inputs.networkAttachments ?? []).map((_, i) => i), ports: false };
  const expected = expectedNetwork(inputs)!;
  const broken: number[] = [];
  for (const [i, n] of record.networks.entries()) {
    const got = live.networkInterfaces[n.network];
    if (got === undefined || got.ip !== n.ip || got.check !== "ok") broken.push(i);
  }
  // A network attached again gets its rules back with it.
  const ports = !broken.includes(0) && !expected.publishedPorts.every((p) => live.publishedPorts.includes(p));
  return { networks: broken, ports };
}

/**
 * Puts back what networkDamage found, keeping each address: a lost interface means the whole
 * network again (DEL and ADD), lost port rules only portmap's ADD again (the interface, and the
 * connections through it, stay). Rewrites the name files.
 */
export async function repairNetwork(inputs: ContainerNetworkInputs, damage: NetworkDamage): Promise<void> {
  const id = inputs.name!;
  if (readAttachment(id) === undefined) throw new ValidationError("networks", `container ${id} lost its network record`, "destroy the container and run `hostform up` to make it again");
  for (const i of damage.networks) await reattachNetwork(id, i);
  if (damage.ports) await republishPorts(id);
  refreshMember(id);
}

/** Rewrites the name files after dns, extraHosts or aliases changed (no restart: they are bind mounts). */
export function updateNames(inputs: ContainerNetworkInputs): void {
  if ((inputs.networkMode ?? undefined) === "host" || present(inputs.namespacePaths?.net) || !hasNames(inputs)) return;
  putMember(memberOf(inputs, readAttachment(inputs.name!)?.networks ?? []));
}

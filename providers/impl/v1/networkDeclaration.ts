// The network part of a Container's (or a pod Namespace's) declaration: the Networks it is attached
// to (each by its conflist), published ports, mode, names and DNS, checked field by field, and the
// member record its name files are made from.
import type { AttachedNetwork } from "../../../src/net/attachments";
import type { CniConfList } from "../../../src/net/cniTypes";
import { parseIpv4, parseSubnet } from "../../../src/net/ipv4";
import { validateMember, type NetworkMember } from "../../../src/net/members";
import { parsePorts, type PublishedPort } from "../../../src/net/portSpec";
import { ValidationError } from "../../../src/sys/errors";

/** One network as the Container resource sends it: the Network's name and conflist, and the container's own choices. */
export interface NetworkAttachmentInput {
  network: string;
  /** The Network's conflist (JSON). */
  confList: string;
  ip?: string;
  aliases?: string[];
}

/** The network part of a Container's inputs. */
export interface ContainerNetworkInputs {
  name?: string;
  resourceName?: string;
  hostname?: string;
  networkAttachments?: NetworkAttachmentInput[];
  ports?: Array<string | PublishedPort>;
  networkMode?: string;
  dns?: string[];
  extraHosts?: string[];
  namespaceName?: string;
  namespacePaths?: Partial<Record<string, string>>;
}

/** The network namespace set pinned for a container's networks. */
export function netSetName(id: string): string {
  return `${id}.net`;
}

export function present<T>(v: T | null | undefined): v is T {
  return v !== undefined && v !== null;
}

/** True when the container has networks of its own (and so a pinned namespace and attachments). */
export function hasNetworks(inputs: ContainerNetworkInputs): boolean {
  const a: unknown = inputs.networkAttachments;
  // Not known yet (a preview while the Network is being made): it will have some.
  return Array.isArray(a) ? a.length > 0 : a !== undefined && a !== null;
}

/** The networks as attached, aliases left out: a change of these makes a new container. A value not known yet stays as it is. */
export function attachedNetworksOf(inputs: ContainerNetworkInputs): unknown {
  const a: unknown = inputs.networkAttachments;
  return Array.isArray(a) ? a.map((x: unknown) => (typeof x === "object" && x !== null ? { ...x, aliases: undefined } : x)) : a;
}

/** The aliases on each network: names only, rewritten in place. */
export function aliasesOf(inputs: ContainerNetworkInputs): unknown {
  const a: unknown = inputs.networkAttachments;
  return Array.isArray(a) ? a.map((x: unknown) => (typeof x === "object" && x !== null ? ((x as NetworkAttachmentInput).aliases ?? []) : x)) : a;
}

/** Whether the container gets hostform's name files: it has networks, or declares dns or extra hosts. */
export function hasNames(inputs: ContainerNetworkInputs): boolean {
  return hasNetworks(inputs) || present(inputs.dns) || present(inputs.extraHosts);
}

/** The declared ports, parsed; [] without any. */
export function declaredPorts(inputs: ContainerNetworkInputs): PublishedPort[] {
  return present(inputs.ports) ? parsePorts(inputs.ports, "ports") : [];
}

export function confListOf(a: NetworkAttachmentInput, i: number): CniConfList {
  try {
    const list = JSON.parse(a.confList) as CniConfList;
    if (typeof list.name !== "string" || !Array.isArray(list.plugins)) throw new Error("not a conflist");
    return list;
  } catch (err) {
    throw new ValidationError(`networks[${i}]`, `is not a Network's configuration (${(err as Error).message})`, "pass a hostform Network resource");
  }
}

/** Names peers resolve the container by: its id, its resource name, and its aliases. */
function namesOf(inputs: ContainerNetworkInputs): string[] {
  const names = new Set<string>([inputs.name!]);
  if (typeof inputs.resourceName === "string" && /^[a-zA-Z0-9][a-zA-Z0-9.-]*$/.test(inputs.resourceName)) names.add(inputs.resourceName);
  for (const a of inputs.networkAttachments ?? []) for (const alias of a.aliases ?? []) names.add(alias);
  return [...names];
}

/** Checks the network declaration; ValidationErrors name the field and the fix. */
export function validateNetwork(inputs: ContainerNetworkInputs): void {
  const mode = inputs.networkMode ?? undefined;
  if (mode !== undefined && mode !== "none" && mode !== "host") throw new ValidationError("networkMode", `${JSON.stringify(mode)} is not a network mode`, 'use "none" (only lo), "host" (the host\'s network), or leave it out and declare networks');
  const attachments = inputs.networkAttachments ?? [];
  if (!Array.isArray(attachments)) throw new ValidationError("networks", "must be a list of Networks or { network, ip?, aliases? }");
  const ports = declaredPorts(inputs);
  if (mode !== undefined && attachments.length > 0) throw new ValidationError("networkMode", `is "${mode}" but networks are declared`, "drop networkMode, or drop networks");
  if (ports.length > 0 && attachments.length === 0) throw new ValidationError("ports", "are published from a network, and the container has none", "add networks: [network]");
  const joinsNet = present(inputs.namespacePaths?.net);
  if (joinsNet && (attachments.length > 0 || ports.length > 0 || mode !== undefined)) {
    throw new ValidationError(attachments.length > 0 ? "networks" : ports.length > 0 ? "ports" : "networkMode", `the container joins namespace ${inputs.namespaceName ?? ""}'s network namespace, which owns the networks and ports`, "declare networks and ports on the Namespace, or drop net from it");
  }
  const seen = new Set<string>();
  attachments.forEach((a, i) => {
    const list = confListOf(a, i);
    if (seen.has(list.name)) throw new ValidationError(`networks[${i}]`, `network ${list.name} is listed twice`, "list each network once");
    seen.add(list.name);
    if (present(a.ip)) {
      if (parseIpv4(a.ip) === undefined) throw new ValidationError(`networks[${i}].ip`, `"${a.ip}" is not an IPv4 address`, "give an address in the network's subnet, or leave ip out");
      const range = (list.plugins[0]?.ipam as { ranges?: { subnet: string }[][] } | undefined)?.ranges?.[0]?.[0]?.subnet;
      if (range !== undefined && !parseSubnet(range, `networks[${i}]`).contains(a.ip, `networks[${i}].ip`)) throw new ValidationError(`networks[${i}].ip`, `${a.ip} is not in network ${list.name}'s subnet ${range}`, `pick an address in ${range}`);
    }
  });
  if (attachments.length > 0 && typeof inputs.name === "string" && netSetName(inputs.name).length > 128) {
    throw new ValidationError("name", `"${inputs.name}" is too long for a container with networks`, "use at most 124 characters");
  }
  if (typeof inputs.name === "string" && mode !== "host") validateMember(memberOf(inputs, []));
}

export function memberOf(inputs: ContainerNetworkInputs, networks: readonly AttachedNetwork[]): NetworkMember {
  const m: NetworkMember = { key: inputs.name!, hostname: inputs.hostname ?? "hostform", names: namesOf(inputs), networks: networks.map((n) => ({ network: n.network, ip: n.ip })) };
  if (present(inputs.dns)) m.dns = inputs.dns;
  if (present(inputs.extraHosts)) m.extraHosts = inputs.extraHosts;
  return m;
}

// A Container's network: its declaration checked, the pinned network namespace its networks are
// attached to (so that a restart by the policy joins the same namespace and keeps its addresses),
// the name files bind-mounted over /etc, and the live state Read compares with what was attached.
import { join } from "node:path";
import { CniError } from "../../../src/net/cniExec";
import type { CniConfList } from "../../../src/net/cniTypes";
import { attachNetworks, checkAttachment, detachNetworks, listAttachments, readAttachment, reattachNetwork, republishPorts, type AttachedNetwork, type AttachmentRecord } from "../../../src/net/attachments";
import { assertHostPortsFree } from "../../../src/net/hostPorts";
import { inspectInterface } from "../../../src/net/linkState";
import { memberFiles, putMember, refreshMember, removeMember, validateMember, type MemberFiles, type NetworkMember } from "../../../src/net/members";
import { parseIpv4 } from "../../../src/net/ipv4";
import { livePortMappings } from "../../../src/net/portRules";
import { formatPort, parsePorts, type PublishedPort } from "../../../src/net/portSpec";
import { createNamespaces, deleteNamespaces, inspectNamespaces } from "../../../src/ns";
import type { NameFiles } from "../../../src/runtime/specgen/config";
import { afterUndo, ValidationError } from "../../../src/sys/errors";
import { mustOwn, type Owner } from "../../../src/sys/owner";
import { nsDir } from "../../../src/sys/paths";

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

/** The network namespace set pinned for a container's networks. */
export function netSetName(id: string): string {
  return `${id}.net`;
}

function present<T>(v: T | null | undefined): v is T {
  return v !== undefined && v !== null;
}

/** True when the container has networks of its own (and so a pinned namespace and attachments). */
export function hasNetworks(inputs: ContainerNetworkInputs): boolean {
  return (inputs.networkAttachments ?? []).length > 0;
}

/** The declared ports, parsed; [] without any. */
export function declaredPorts(inputs: ContainerNetworkInputs): PublishedPort[] {
  return present(inputs.ports) ? parsePorts(inputs.ports, "ports") : [];
}

function confListOf(a: NetworkAttachmentInput, i: number): CniConfList {
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
      if (range !== undefined && !ipIn(a.ip, range)) throw new ValidationError(`networks[${i}].ip`, `${a.ip} is not in network ${list.name}'s subnet ${range}`, `pick an address in ${range}`);
    }
  });
  if (attachments.length > 0 && typeof inputs.name === "string" && netSetName(inputs.name).length > 128) {
    throw new ValidationError("name", `"${inputs.name}" is too long for a container with networks`, "use at most 124 characters");
  }
  if (typeof inputs.name === "string" && mode !== "host") validateMember(memberOf(inputs, []));
}

function ipIn(ip: string, cidr: string): boolean {
  const [base, len] = cidr.split("/");
  const mask = Number(len) === 0 ? 0 : (0xffffffff << (32 - Number(len))) >>> 0;
  return ((parseIpv4(ip)! & mask) >>> 0) === ((parseIpv4(base!)! & mask) >>> 0);
}

function memberOf(inputs: ContainerNetworkInputs, networks: readonly AttachedNetwork[]): NetworkMember {
  const m: NetworkMember = { key: inputs.name!, hostname: inputs.hostname ?? "hostform", names: namesOf(inputs), networks: networks.map((n) => ({ network: n.network, ip: n.ip })) };
  if (present(inputs.dns)) m.dns = inputs.dns;
  if (present(inputs.extraHosts)) m.extraHosts = inputs.extraHosts;
  return m;
}

/** How the container's network namespace is set up for the spec. */
export interface NetworkSetup {
  /** ContainerConfig.networkNamespace: "host", a pinned path, or undefined for its own. */
  networkNamespace?: string;
  nameFiles?: NameFiles;
}

function filesOf(f: MemberFiles): NameFiles {
  return { hosts: f.hosts, hostname: f.hostname, resolvConf: f.resolvConf };
}

/**
 * What the spec needs without touching the host: used to build a spec for a digest or a check. The
 * files' paths are fixed by the key, so a spec built here equals the one built at create.
 */
export function plannedNetwork(inputs: ContainerNetworkInputs): NetworkSetup {
  const mode = inputs.networkMode ?? undefined;
  if (mode === "host") return { networkNamespace: "host" };
  if (present(inputs.namespacePaths?.net)) {
    // A pod's network: its files when the Namespace keeps them.
    const pod = present(inputs.namespaceName) ? podMemberFiles(inputs.name!, inputs.namespaceName) : undefined;
    return pod !== undefined ? { nameFiles: pod } : {};
  }
  const setup: NetworkSetup = { nameFiles: filesOf(memberFiles(inputs.name!)) };
  if (hasNetworks(inputs)) setup.networkNamespace = pinPath(inputs.name!);
  return setup;
}

/** A pod member's own name files (its names on the pod's addresses) when the pod has networks. */
function podMemberFiles(id: string, setName: string): NameFiles | undefined {
  return readAttachment(setName) !== undefined ? filesOf(memberFiles(id)) : undefined;
}

/** Where the container's network namespace is pinned (src/ns's layout: <nsDir>/<set>/net). */
function pinPath(id: string): string {
  return join(nsDir(), netSetName(id), "net");
}

/**
 * Makes the container's network before it starts: the name files, and with networks a pinned
 * network namespace attached to each of them (ports published on the first). On failure nothing is
 * left: no lease, rule, veth, pin or file.
 */
export async function setUpNetwork(inputs: ContainerNetworkInputs, owner: Owner | undefined): Promise<NetworkSetup> {
  const id = inputs.name!;
  const mode = inputs.networkMode ?? undefined;
  if (mode === "host") return plannedNetwork(inputs);
  if (present(inputs.namespacePaths?.net)) {
    // In a pod with networks: peers resolve this container's names to the pod's addresses.
    const pod = present(inputs.namespaceName) ? readAttachment(inputs.namespaceName) : undefined;
    if (pod !== undefined) putMember(memberOf(inputs, pod.networks));
    return plannedNetwork(inputs);
  }
  if (!hasNetworks(inputs)) return { nameFiles: filesOf(putMember(memberOf(inputs, []))) };
  const kept = await keptNetwork(inputs);
  if (kept !== undefined) return kept;
  const ports = declaredPorts(inputs);
  const taken = listAttachments().filter((r) => r.key !== id).flatMap((r) => r.ports);
  await assertHostPortsFree(ports, taken, "ports");
  const existing = inspectNamespaces(netSetName(id));
  if (existing !== undefined) mustOwn("network namespace", netSetName(id), existing.owner, owner);
  const set = await createNamespaces(netSetName(id), ["net"], owner);
  try {
    const lists = (inputs.networkAttachments ?? []).map((a, i) => ({ list: confListOf(a, i), ...(present(a.ip) ? { ip: a.ip } : {}) }));
    const record = await attachNetworks(id, set.paths.net!, lists, ports);
    try {
      return { networkNamespace: set.paths.net!, nameFiles: filesOf(putMember(memberOf(inputs, record.networks))) };
    } catch (err) {
      throw await afterUndo(err, `detaching ${id} from its networks`, () => detachNetworks(id, lists.map((l) => l.list)));
    }
  } catch (err) {
    throw await afterUndo(err, `removing ${id}'s network namespace`, () => deleteNamespaces(netSetName(id)));
  }
}

/**
 * A pod Namespace's networks, attached to its pinned network namespace right after it is made
 * (`inputs.name` is the set's name). On failure nothing is attached.
 */
export async function attachPodNetwork(inputs: ContainerNetworkInputs, netns: string): Promise<void> {
  if (!hasNetworks(inputs)) return;
  const key = inputs.name!;
  const ports = declaredPorts(inputs);
  await assertHostPortsFree(ports, listAttachments().filter((r) => r.key !== key).flatMap((r) => r.ports), "ports");
  const lists = (inputs.networkAttachments ?? []).map((a, i) => ({ list: confListOf(a, i), ...(present(a.ip) ? { ip: a.ip } : {}) }));
  const record = await attachNetworks(key, netns, lists, ports);
  try {
    putMember(memberOf(inputs, record.networks));
  } catch (err) {
    throw await afterUndo(err, `detaching ${key} from its networks`, () => detachNetworks(key, lists.map((l) => l.list)));
  }
}

/** Detaches a pod Namespace from its networks (before its namespaces go); idempotent. */
export async function detachPodNetwork(inputs: ContainerNetworkInputs): Promise<void> {
  await detachNetworks(inputs.name!, (inputs.networkAttachments ?? []).flatMap((a, i) => tryList(a, i)));
  removeMember(inputs.name!);
}

/**
 * A container run again (stopped, killed, its process lost) keeps its network: the pinned namespace
 * and its attachments are reused, repaired where something went missing, so its addresses stay.
 * undefined when there is nothing to keep (what is left of a broken set is removed first).
 */
async function keptNetwork(inputs: ContainerNetworkInputs): Promise<NetworkSetup | undefined> {
  const id = inputs.name!;
  const record = readAttachment(id);
  const set = inspectNamespaces(netSetName(id));
  if (record === undefined && set === undefined) return undefined;
  const wanted = (inputs.networkAttachments ?? []).map((a, i) => JSON.stringify(confListOf(a, i)));
  const same = record !== undefined && set?.intact === true && record.netns === set.paths.net && sameList(record.networks.map((n) => JSON.stringify(n.confList)), wanted) && sameList(record.ports.map(formatPort), declaredPorts(inputs).map(formatPort));
  if (!same) {
    await tearDownNetwork(inputs);
    return undefined;
  }
  const damage = await networkDamage(inputs, (await observeNetwork(inputs))!);
  if (isDamaged(damage)) await repairNetwork(inputs, damage);
  return { networkNamespace: set.paths.net!, nameFiles: filesOf(putMember(memberOf(inputs, readAttachment(id)!.networks))) };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Removes everything setUpNetwork made; idempotent. A network whose interface vanished out of band
 * is put back before its DEL: the bridge plugin finds the masquerade rules to remove by the
 * interface's address, and would leave them behind otherwise.
 */
export async function tearDownNetwork(inputs: ContainerNetworkInputs): Promise<void> {
  const id = inputs.name!;
  const record = readAttachment(id);
  if (record !== undefined && inspectNamespaces(netSetName(id))?.intact === true) {
    for (const [i, n] of record.networks.entries()) if (!(await inspectInterface(record.netns, n.ifname)).present) await reattachNetwork(id, i);
  }
  await detachNetworks(id, (inputs.networkAttachments ?? []).flatMap((a, i) => tryList(a, i)));
  removeMember(id);
  // An id too long for a set name never had one (validateNetwork refuses networks for it).
  if (netSetName(id).length <= 128) await deleteNamespaces(netSetName(id));
}

function tryList(a: NetworkAttachmentInput, i: number): CniConfList[] {
  try {
    return [confListOf(a, i)];
  } catch {
    // A declaration that never attached (it did not parse) has nothing to detach.
    return [];
  }
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
  if ((inputs.networkMode ?? undefined) === "host" || present(inputs.namespacePaths?.net)) return;
  putMember(memberOf(inputs, readAttachment(inputs.name!)?.networks ?? []));
}

export type { AttachmentRecord };

// One network namespace (a container's own, or a pod's) attached to one or more networks: ADD on
// each in order (eth0, eth1, ...), published ports on the first, and a record of what was attached,
// kept under the run dir. The record is what DEL needs when the declaration is gone, what other
// attachments check their host ports against, and where a CHECK's drift is compared to.
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { atomicWrite } from "../sys/atomicFile";
import { afterUndo, ValidationError } from "../sys/errors";
import { jsonFileNames, readJsonFile } from "../sys/jsonFile";
import { runDir } from "../sys/paths";
import { addNetwork, checkNetwork, delNetwork, readdPlugins } from "./cniChain";
import type { ExecOptions } from "./cniExec";
import type { CniAttachment, CniConfList, CniResult } from "./cniTypes";
import { runNetCommand } from "./netnsCommand";
import { parseIpv4 } from "./ipv4";
import { toCniPortMappings, type PublishedPort } from "./portSpec";

/** One network to attach to: its conflist and, optionally, the address to ask for. */
export interface NetworkRequest {
  list: CniConfList;
  ip?: string;
}

/** What one network gave the namespace. */
export interface AttachedNetwork {
  network: string;
  ifname: string;
  /** IPv4 address without the prefix. */
  ip: string;
  /** Prefix length of the address. */
  prefix: number;
  mac: string;
  gateway?: string;
  /** The conflist it was attached with: DEL needs exactly it, whatever the declaration says now. */
  confList: CniConfList;
}

/** Everything attached for one key (a container id or a pod's namespace set). */
export interface AttachmentRecord {
  version: 1;
  key: string;
  netns: string;
  networks: AttachedNetwork[];
  ports: PublishedPort[];
}

function recordsDir(): string {
  return join(runDir(), "net", "attachments");
}

function recordPath(key: string): string {
  return join(recordsDir(), `${key}.json`);
}

/** The attachment record of `key`; undefined when nothing is attached. */
export function readAttachment(key: string): AttachmentRecord | undefined {
  return readJsonFile<AttachmentRecord>(recordPath(key), `network attachment record of ${key}`, "remove it, then DEL the container's networks by hand");
}

/** Every attachment record on this host. */
export function listAttachments(): AttachmentRecord[] {
  return jsonFileNames(recordsDir(), "network attachment records").flatMap((k) => readAttachment(k) ?? []);
}

/** Keys attached to `network`. */
export function attachedTo(network: string): string[] {
  return listAttachments().filter((r) => r.networks.some((n) => n.network === network)).map((r) => r.key);
}

function cniAttachment(key: string, netns: string, ifname: string, ports: PublishedPort[], ip: string | undefined): CniAttachment {
  const at: CniAttachment = { containerId: key, netns, ifname };
  const runtimeConfig: NonNullable<CniAttachment["runtimeConfig"]> = {};
  if (ports.length > 0) runtimeConfig.portMappings = toCniPortMappings(ports);
  if (ip !== undefined) runtimeConfig.ips = [ip];
  if (Object.keys(runtimeConfig).length > 0) at.runtimeConfig = runtimeConfig;
  return at;
}

/** The first IPv4 address and interface of an ADD result, for `ifname`. */
function attachedFrom(list: CniConfList, ifname: string, result: CniResult): AttachedNetwork {
  const network = list.name;
  const index = result.interfaces?.findIndex((i) => i.name === ifname && i.sandbox !== undefined) ?? -1;
  const ipConf = result.ips?.find((c) => (index < 0 || c.interface === index) && parseIpv4(c.address.split("/")[0]!) !== undefined);
  if (ipConf === undefined) throw new ValidationError("networks", `network ${network} gave ${ifname} no IPv4 address`, "check the network's subnet and IPAM");
  const [ip, prefix] = ipConf.address.split("/");
  const out: AttachedNetwork = { network, ifname, ip: ip!, prefix: Number(prefix), mac: index >= 0 ? (result.interfaces![index]!.mac ?? "") : "", confList: list };
  if (ipConf.gateway !== undefined) out.gateway = ipConf.gateway;
  return out;
}

/**
 * Attaches the namespace at `netns` to each network in order, publishing `ports` on the first, and
 * records it under `key`. On failure every network already attached is detached again, and no
 * record is left.
 */
export async function attachNetworks(key: string, netns: string, requests: readonly NetworkRequest[], ports: readonly PublishedPort[], options: ExecOptions = {}): Promise<AttachmentRecord> {
  const record: AttachmentRecord = { version: 1, key, netns, networks: [], ports: [...ports] };
  const done: NetworkRequest[] = [];
  try {
    for (const [i, req] of requests.entries()) {
      const ifname = `eth${i}`;
      const at = cniAttachment(key, netns, ifname, i === 0 ? [...ports] : [], req.ip);
      const result = await addNetwork(req.list, at, options);
      done.push(req);
      record.networks.push(attachedFrom(req.list, ifname, result));
    }
    mkdirSync(recordsDir(), { recursive: true, mode: 0o700 });
    atomicWrite(recordPath(key), JSON.stringify(record));
    return record;
  } catch (err) {
    throw await afterUndo(err, `detaching ${key} from ${done.map((r) => r.list.name).join(", ")}`, () => detachLists(key, netns, done.map((r) => r.list), ports, options));
  }
}

async function detachLists(key: string, netns: string, lists: readonly CniConfList[], ports: readonly PublishedPort[], options: ExecOptions): Promise<void> {
  let first: unknown;
  // In reverse, like the ADDs; every DEL runs even when one fails (a rule must not outlive its veth).
  for (let i = lists.length - 1; i >= 0; i--) {
    try {
      await delNetwork(lists[i]!, cniAttachment(key, netns, `eth${i}`, i === 0 ? [...ports] : [], undefined), options);
    } catch (err) {
      first ??= err;
    }
  }
  if (first !== undefined) throw first;
}

/**
 * Detaches `key` from every network its record lists (DEL with the cached results, so the plugins
 * find their rules and leases even when the namespace is gone), then drops the record. Without a
 * record (a crash between the ADDs and its write), `fallback` names the networks to DEL.
 * Idempotent: nothing attached is success.
 */
export async function detachNetworks(key: string, fallback: readonly CniConfList[] = [], options: ExecOptions = {}): Promise<void> {
  const record = readAttachment(key);
  const lists = record !== undefined ? record.networks.map((n) => n.confList) : fallback;
  await detachLists(key, record?.netns ?? "", lists, record?.ports ?? [], options);
  rmSync(recordPath(key), { force: true });
}

/**
 * Re-attaches one network after its interface or rules went missing: DEL (with the cached result,
 * so its lease, rules and masquerade chain go) then ADD asking for the same address, so that the
 * container keeps its IP. Updates the record.
 */
export async function reattachNetwork(key: string, index: number, options: ExecOptions = {}): Promise<AttachmentRecord> {
  const record = readAttachment(key);
  const old = record?.networks[index];
  if (record === undefined || old === undefined) throw new ValidationError("networks", `${key} has no attachment record for eth${index}`, "destroy the container and run `hostform up` to attach it from scratch");
  const list = old.confList;
  const ports = index === 0 ? record.ports : [];
  const at = (ip: string | undefined): CniAttachment => cniAttachment(key, record.netns, `eth${index}`, ports, ip);
  await delNetwork(list, at(undefined), options);
  const result = await addNetwork(list, at(old.ip), options);
  record.networks[index] = attachedFrom(list, `eth${index}`, result);
  atomicWrite(recordPath(key), JSON.stringify(record));
  await forgetNeighbour(old.network, old.ip, key, options);
  return record;
}

/**
 * An interface made again keeps its address but has a new MAC: the host and the network's other
 * containers would send to the old one until their neighbour entry goes stale (up to ~45 s: the
 * kernel's reachable time, then its probes). Each of them forgets the address now and asks again.
 */
async function forgetNeighbour(network: string, ip: string, key: string, options: ExecOptions): Promise<void> {
  const flush = ["ip", "neigh", "flush", "to", ip];
  await runNetCommand(flush, options);
  for (const peer of listAttachments()) {
    if (peer.key !== key && peer.networks.some((n) => n.network === network)) await runNetCommand(flush, { hostNetns: peer.netns });
  }
}

/** Puts back the published ports' rules of `key` (portmap's ADD again), leaving its interface as it is. */
export async function republishPorts(key: string, options: ExecOptions = {}): Promise<void> {
  const record = readAttachment(key);
  const first = record?.networks[0];
  if (record === undefined || first === undefined || record.ports.length === 0) return;
  await readdPlugins(first.confList, "portmap", cniAttachment(key, record.netns, first.ifname, record.ports, undefined), options);
}

/** CHECK of one attached network; the plugin's error when something it made is gone or changed. */
export async function checkAttachment(key: string, index: number, options: ExecOptions = {}): Promise<void> {
  const record = readAttachment(key);
  const list = record?.networks[index]?.confList;
  if (record === undefined || list === undefined) throw new ValidationError("networks", `${key} has no attachment record for eth${index}`);
  await checkNetwork(list, cniAttachment(key, record.netns, `eth${index}`, index === 0 ? record.ports : [], undefined), options);
}

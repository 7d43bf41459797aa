// The record of each Network hostform made: its declaration, conflist and owner, under the run dir
// (like the bridge and leases it describes, it does not outlive the boot). It is how a new network's
// subnet is checked against the others, and how a create tells its own network from another's.
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { atomicWrite } from "../sys/atomicFile";
import { ValidationError } from "../sys/errors";
import { jsonFileNames, readJsonFile } from "../sys/jsonFile";
import type { Owner } from "../sys/owner";
import { runDir } from "../sys/paths";
import type { CniConfList } from "./cniTypes";
import { hostRoutes, type HostRoute } from "./hostRoutes";
import { parseIpv4, parseSubnet } from "./ipv4";

export interface NetworkRecord {
  version: 1;
  name: string;
  bridge: string;
  subnet: string;
  gateway: string;
  internal: boolean;
  mtu?: number;
  createdAt: string;
  owner?: Owner;
  confList: CniConfList;
}

function recordsDir(): string {
  return join(runDir(), "net", "networks");
}

function recordPath(name: string): string {
  return join(recordsDir(), `${name}.json`);
}

export function readNetworkRecord(name: string): NetworkRecord | undefined {
  return readJsonFile<NetworkRecord>(recordPath(name), `the record of network ${name}`, "remove it and the network's bridge by hand");
}

export function writeNetworkRecord(record: NetworkRecord): void {
  mkdirSync(recordsDir(), { recursive: true, mode: 0o700 });
  atomicWrite(recordPath(record.name), JSON.stringify(record));
}

export function removeNetworkRecord(name: string): void {
  rmSync(recordPath(name), { force: true });
}

export function listNetworkRecords(): NetworkRecord[] {
  return jsonFileNames(recordsDir(), "network records").flatMap((n) => readNetworkRecord(n) ?? []);
}

function overlaps(a: string, b: string): boolean {
  const x = parseSubnet(a, "subnet");
  const y = parseSubnet(b, "subnet");
  const shorter = x.prefix <= y.prefix ? x : y;
  const other = shorter === x ? y : x;
  return shorter.contains(other.network, "subnet");
}

/**
 * Refuses a subnet or bridge that another hostform network, or a route of the host, already uses:
 * containers on it would be unreachable, or would hide part of the host's network. The network's
 * own bridge route (it exists while the network does) is not a conflict.
 */
export function assertNetworkFree(name: string, bridge: string, subnet: string, routes: readonly HostRoute[] = hostRoutes()): void {
  for (const other of listNetworkRecords()) {
    if (other.name === name) continue;
    if (other.bridge === bridge) throw new ValidationError("bridge", `bridge ${bridge} belongs to network ${other.name}`, "pick another bridge name, or leave bridge out");
    if (overlaps(other.subnet, subnet)) throw new ValidationError("subnet", `${subnet} overlaps network ${other.name}'s ${other.subnet}`, "pick a subnet no other network uses");
  }
  for (const r of routes) {
    if (r.prefix === 0 || r.device === bridge || r.device === "lo") continue;
    const route = `${r.destination}/${r.prefix}`;
    if (parseIpv4(r.destination) !== undefined && overlaps(route, subnet)) {
      throw new ValidationError("subnet", `${subnet} overlaps the host's route ${route} on ${r.device}`, "pick a subnet the host does not use (see `ip route`)");
    }
  }
}

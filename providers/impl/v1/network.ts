// Provider adapter for hostform:Network (protocol v1): a Linux bridge network on the CNI reference
// plugins. The id is the network's name. The bridge is made with its gateway address at create (as
// `docker network create` does; the bridge plugin adopts it on the first container's ADD), so the
// network is a live object from the start: Read checks the bridge and its address, and `up` makes
// them again when they were removed out of band. Containers carry the network's conflist, so they
// can be detached even after the network's record is gone.
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { attachedTo } from "../../../src/net/attachments";
import { deleteBridge, ensureBridge, inspectBridge } from "../../../src/net/bridgeDevice";
import { bridgeConfList, ipamDataDir, validateBridgeNetwork } from "../../../src/net/bridgeConfList";
import { removeIdleCniChains } from "../../../src/net/sharedChains";
import { assertNetworkFree, listNetworkRecords, readNetworkRecord, removeNetworkRecord, writeNetworkRecord, type NetworkRecord } from "../../../src/net/networkRecords";
import { ValidationError } from "../../../src/sys/errors";
import { mustOwn, sameOwner } from "../../../src/sys/owner";
import { chooseName, mustDeleteBeforeReplace, type NamedInputs } from "./autoname";
import { collectFailures } from "./checkFailures";
import { isImportRead, ownerOf, warnTakeover } from "./ownership";
import { sameValue } from "./sameValue";
import { containsUnknown } from "./unknownValue";

/** Inputs as the Network resource sends them (after check: name and bridge chosen, subnet canonical). */
export interface NetworkInputs extends NamedInputs {
  subnet: string;
  gateway?: string;
  internal?: boolean;
  mtu?: number;
  bridge?: string;
}

/** Outputs: the declaration as the plugins run it, and the live bridge. */
export interface NetworkOutputs extends NetworkInputs {
  bridge: string;
  gateway: string;
  internal: boolean;
  /** The conflist, as JSON: what containers attach with. */
  confList: string;
  /** Live: the bridge exists and is up. */
  bridgeUp: boolean;
  /** Live: the bridge's IPv4 addresses (CIDR); the gateway's is the one declared. */
  bridgeAddresses: string[];
}

/** Inputs whose change makes a new network. */
const REPLACE_KEYS = ["name", "subnet", "gateway", "internal", "mtu", "bridge"] as const;

/** "hf-" and 8 hex of the name: unique per name, within Linux's 15-byte interface names. */
export function defaultBridgeName(name: string): string {
  return `hf-${createHash("sha256").update(name).digest("hex").slice(0, 8)}`;
}

function gatewayCidr(o: { gateway: string; subnet: string }): string {
  return `${o.gateway}/${o.subnet.split("/")[1]}`;
}

function declared(inputs: NetworkInputs): NetworkRecord {
  const valid = validateBridgeNetwork({ name: inputs.name!, bridge: inputs.bridge ?? defaultBridgeName(inputs.name!), subnet: inputs.subnet, ...(inputs.gateway !== undefined && inputs.gateway !== null ? { gateway: inputs.gateway } : {}), internal: inputs.internal === true, ...(inputs.mtu !== undefined && inputs.mtu !== null ? { mtu: inputs.mtu } : {}) });
  const record: NetworkRecord = {
    version: 1,
    name: valid.name,
    bridge: valid.bridge,
    subnet: valid.subnet.cidr,
    gateway: valid.gateway,
    internal: valid.internal,
    createdAt: new Date().toISOString(),
    confList: bridgeConfList({ name: valid.name, bridge: valid.bridge, subnet: valid.subnet.cidr, gateway: valid.gateway, internal: valid.internal, ...(valid.mtu !== undefined ? { mtu: valid.mtu } : {}) }),
  };
  if (valid.mtu !== undefined) record.mtu = valid.mtu;
  const owner = ownerOf(inputs);
  if (owner !== undefined) record.owner = owner;
  return record;
}

async function outputs(inputs: NetworkInputs, record: NetworkRecord): Promise<NetworkOutputs> {
  const live = await inspectBridge(record.bridge);
  return {
    ...inputs,
    bridge: record.bridge,
    subnet: record.subnet,
    gateway: record.gateway,
    internal: record.internal,
    confList: JSON.stringify(record.confList),
    bridgeUp: live.present && live.up,
    bridgeAddresses: [...live.addresses].sort(),
  };
}

/** Whether the live bridge is what the record says: present, up, with the gateway's address. */
async function bridgeIsWhole(record: NetworkRecord): Promise<boolean> {
  const live = await inspectBridge(record.bridge);
  return live.present && live.up && live.addresses.includes(gatewayCidr(record));
}

async function makeBridge(record: NetworkRecord): Promise<void> {
  await ensureBridge({ name: record.bridge, gatewayCidr: gatewayCidr(record), ...(record.mtu !== undefined ? { mtu: record.mtu } : {}) });
}

/** The v1 Network provider. */
export const provider: pulumi.dynamic.ResourceProvider<NetworkInputs, NetworkOutputs> = {
  async check(olds, news) {
    const inputs = chooseName(olds, news);
    const failures = collectFailures([
      () => {
        if (containsUnknown(inputs)) return;
        const record = declared(inputs);
        // The defaults as chosen, so that diff compares like with like (outputs carry them).
        inputs.bridge = record.bridge;
        inputs.subnet = record.subnet;
        inputs.gateway = record.gateway;
        inputs.internal = record.internal;
        assertNetworkFree(record.name, record.bridge, record.subnet);
      },
    ]);
    return { inputs, failures };
  },

  async diff(id, olds, news) {
    const replaces: string[] = REPLACE_KEYS.filter((k) => !sameValue(olds[k], news[k]));
    if (replaces.length > 0) return { changes: true, replaces, deleteBeforeReplace: mustDeleteBeforeReplace(olds.name, news.name) || olds.bridge === news.bridge };
    const record = readNetworkRecord(id);
    // Same declaration: a lost record or bridge (or its address) is made again by update.
    return { changes: record === undefined || !(await bridgeIsWhole(record)) || !sameOwner(record.owner, ownerOf(news)) };
  },

  async create(inputs) {
    const record = declared(inputs);
    const existing = readNetworkRecord(record.name);
    if (existing !== undefined) {
      mustOwn("network", record.name, existing.owner, record.owner);
      if (existing.subnet !== record.subnet || existing.bridge !== record.bridge) {
        throw new ValidationError("subnet", `network ${record.name} already exists with subnet ${existing.subnet} on ${existing.bridge}`, "destroy it first, or declare the same subnet");
      }
    }
    assertNetworkFree(record.name, record.bridge, record.subnet);
    writeNetworkRecord(record);
    try {
      await makeBridge(record);
    } catch (err) {
      // Nothing half-made: no record of a network whose bridge could not be made.
      if (existing === undefined) removeNetworkRecord(record.name);
      throw err;
    }
    return { id: record.name, outs: await outputs(inputs, record) };
  },

  async read(id, props) {
    const record = readNetworkRecord(id);
    if (record === undefined || props === undefined) return { id: "", props: {} as NetworkOutputs };
    if (isImportRead(props, "confList")) {
      const { owner: _o, version: _v, createdAt: _c, confList: _l, ...rest } = record;
      return { id, props: await outputs({ ...props, ...rest, name: id, autonamed: false }, record) };
    }
    return { id, props: await outputs(props, record) };
  },

  async update(id, _olds, news) {
    const record = readNetworkRecord(id) ?? declared(news);
    const owner = ownerOf(news);
    if (owner !== undefined && !sameOwner(record.owner, owner)) {
      if (record.owner !== undefined) warnTakeover("network", id, record.owner, owner);
      record.owner = owner;
    }
    writeNetworkRecord(record);
    // Repairs a bridge (or its address) removed out of band; the containers' own repair then puts
    // their veths back on it.
    if (!(await bridgeIsWhole(record))) await makeBridge(record);
    return { outs: await outputs(news, record) };
  },

  async delete(id, props) {
    const users = attachedTo(id);
    if (users.length > 0) {
      throw new ValidationError("network", `network ${id} is in use by ${users.join(", ")}`, "remove (or move) those containers first; a stack deletes them before the network");
    }
    const record = readNetworkRecord(id);
    const bridge = record?.bridge ?? props?.bridge;
    if (bridge !== undefined) await deleteBridge(bridge);
    // host-local's lease directory (its last-reserved-IP and lock files outlive the last lease).
    rmSync(join(ipamDataDir(), id), { recursive: true, force: true });
    removeNetworkRecord(id);
    // The last hostform network gone: the CNI chains the plugins share go too when nothing uses them.
    if (listNetworkRecords().length === 0) await removeIdleCniChains();
  },
};

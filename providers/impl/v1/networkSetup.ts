// A Container's network made and removed: the pinned network namespace its networks are attached to
// (so that a restart by the policy joins the same namespace and keeps its addresses), the name files
// bind-mounted over /etc, a pod Namespace's attachments. Nothing is left half-made.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { attachNetworks, detachNetworks, listAttachments, readAttachment, reattachNetwork } from "../../../src/net/attachments";
import type { CniConfList } from "../../../src/net/cniTypes";
import { assertHostPortsFree, type TakenPort } from "../../../src/net/hostPorts";
import { inspectInterface } from "../../../src/net/linkState";
import { memberFiles, putMember, removeMember, type MemberFiles } from "../../../src/net/members";
import { formatPort } from "../../../src/net/portSpec";
import { createNamespaces, deleteNamespaces, inspectNamespaces } from "../../../src/ns";
import type { NameFiles } from "../../../src/runtime/specgen/config";
import { afterUndo } from "../../../src/sys/errors";
import { mustOwn, type Owner } from "../../../src/sys/owner";
import { nsDir } from "../../../src/sys/paths";
import { confListOf, declaredPorts, hasNames, hasNetworks, memberOf, netSetName, present, type ContainerNetworkInputs, type NetworkAttachmentInput } from "./networkDeclaration";
import { isDamaged, networkDamage, observeNetwork, repairNetwork } from "./networkLive";

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
  // Without networks, dns or extraHosts the rootfs's own /etc files stay (the spec as before networks existed).
  if (!hasNames(inputs)) return {};
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
  if (!hasNetworks(inputs)) return hasNames(inputs) ? { nameFiles: filesOf(putMember(memberOf(inputs, []))) } : {};
  const kept = await keptNetwork(inputs);
  if (kept !== undefined) return kept;
  // Ports checked before anything is made: a port in use leaves nothing behind.
  await assertHostPortsFree(declaredPorts(inputs), takenPorts(id), "ports");
  const existing = inspectNamespaces(netSetName(id));
  if (existing !== undefined) mustOwn("network namespace", netSetName(id), existing.owner, owner);
  const set = await createNamespaces(netSetName(id), ["net"], owner);
  try {
    return { networkNamespace: set.paths.net!, nameFiles: await attachNamed(inputs, set.paths.net!) };
  } catch (err) {
    throw await afterUndo(err, `removing ${id}'s network namespace`, () => deleteNamespaces(netSetName(id)));
  }
}

/**
 * Attaches the namespace at `netns` to the declared networks under `inputs.name` (ports on the
 * first) and writes its name files; on failure nothing stays attached.
 */
async function attachNamed(inputs: ContainerNetworkInputs, netns: string): Promise<NameFiles> {
  const key = inputs.name!;
  const lists = (inputs.networkAttachments ?? []).map((a, i) => ({ list: confListOf(a, i), ...(present(a.ip) ? { ip: a.ip } : {}) }));
  const record = await attachNetworks(key, netns, lists, declaredPorts(inputs));
  try {
    return filesOf(putMember(memberOf(inputs, record.networks)));
  } catch (err) {
    throw await afterUndo(err, `detaching ${key} from its networks`, () => detachNetworks(key, lists.map((l) => l.list)));
  }
}

/** The ports every other attachment on this host publishes, each with its owner for the message. */
function takenPorts(key: string): TakenPort[] {
  return listAttachments().filter((r) => r.key !== key).flatMap((r) => r.ports.map((p) => ({ ...p, owner: r.key })));
}

/**
 * A pod Namespace's networks, attached to its pinned network namespace right after it is made
 * (`inputs.name` is the set's name). On failure nothing is attached.
 */
export async function attachPodNetwork(inputs: ContainerNetworkInputs, netns: string): Promise<void> {
  if (!hasNetworks(inputs)) return;
  await assertHostPortsFree(declaredPorts(inputs), takenPorts(inputs.name!), "ports");
  await attachNamed(inputs, netns);
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
  if (existsSync(memberFiles(id).dir)) removeMember(id);
  // An id too long for a set name never had one (validateNetwork refuses networks for it).
  if (netSetName(id).length <= 128) await deleteNamespaces(netSetName(id));
}

export function tryList(a: NetworkAttachmentInput, i: number): CniConfList[] {
  try {
    return [confListOf(a, i)];
  } catch {
    // A declaration that never attached (it did not parse) has nothing to detach.
    return [];
  }
}

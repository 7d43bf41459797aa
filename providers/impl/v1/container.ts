// Provider adapter for hostform:Container (protocol v1): an OCI spec built from the declaration, run
// by hostform's runtime (RuntimeClient: create + start under the shared supervisor, which keeps it
// running after the engine exits). The id is the container id; the container's cgroup is
// "<Cgroup fullName>/<id>" when it belongs to a Cgroup, else "<id>", and this provider owns it.
import type * as pulumi from "@pulumi/pulumi";
import { openCgroupDriver, type CgroupDriver } from "../../../src/cgroup/driver";
import { diffLimits, withLiftedLimits, type CgroupLimits, type NormalizedLimits } from "../../../src/cgroup/spec";
import { cgroupSegments } from "../../../src/cgroup/tree";
import { RuntimeClient, type ContainerState } from "../../../src/runtime/client";
import { containerOwner, ownerAnnotation, setContainerOwner } from "../../../src/runtime/ownerRecord";
import { isSameProcess, validateId } from "../../../src/runtime/state";
import { HostformError, NotFoundError, ValidationError, afterUndo } from "../../../src/sys/errors";
import { readLog } from "../../../src/runtime/logsFile";
import { mustOwn, sameOwner } from "../../../src/sys/owner";
import { withLiveStatus } from "../../liveStatus";
import { chooseName, mustDeleteBeforeReplace } from "./autoname";
import { collectFailures } from "./checkFailures";
import { projectLive } from "./cgroup";
import { importedInputs } from "./containerImport";
import type { ContainerInputs, ContainerOutputs } from "./containerInputs";
import type { IdMapping } from "../../../src/ns/idMapping";
import { idMappingsOf, joinedNamespacesMatch, namespaceInodes, seccompModeOf } from "./containerLive";
import { declaredPolicies, policiesDiffer, rewritePolicies } from "./containerPolicy";
import { containerLimits } from "./containerDevices";
import { aliasesOf, attachedNetworksOf, declaredPorts, hasNames, hasNetworks, validateNetwork } from "./networkDeclaration";
import { expectedNetwork, isDamaged, networkDamage, observeNetwork, repairNetwork, updateNames, type NetworkLive } from "./networkLive";
import { setUpNetwork, tearDownNetwork } from "./networkSetup";
import { seccompChoice } from "./containerSeccomp";
import { holdContainerImage, releaseContainerImage } from "./containerImage";
import { asConfigError } from "../../../src/runtime/specgen/generate";
import { SPEC_DIGEST_ANNOTATION, buildSpec, checkRootChoice, isJob, rootLayersOf, specDigest, validatePolicies } from "./containerSpec";
import { isImportRead, ownerOf, warnTakeover } from "./ownership";
import { sameValue } from "./sameValue";
import { UNKNOWN, containsUnknown } from "./unknownValue";

export type { ContainerInputs, ContainerOutputs } from "./containerInputs";

/** Inputs whose change makes a new container (a process cannot change these while it runs). */
export const REPLACE_KEYS = [
  "name", "rootfs", "command", "args", "env", "cwd", "user", "hostname", "namespaceName", "namespacePaths", "namespaceInodes",
  "cgroupParent", "seccomp", "seccompDigest", "capabilities", "mounts", "readonlyRootfs", "rlimits", "devices",
  "ports", "networkMode", "image", "copyOnWrite", "userns", "namespaceIdMappings", "desiredState",
] as const;

/** Inputs written live into the running container (cgroup files, supervisor state, its name files). */
export const IN_PLACE_KEYS = ["limits", "restartPolicy", "stopSignal", "stopTimeout", "dns", "extraHosts"] as const;


const NAMESPACE_KEYS = ["namespaceName", "namespacePaths", "namespaceInodes", "namespaceIdentity", "namespaceIdMappings"];

let cachedDriver: CgroupDriver | undefined;
function driver(): CgroupDriver {
  cachedDriver ??= openCgroupDriver();
  return cachedDriver;
}

let cachedClient: RuntimeClient | undefined;
function client(): RuntimeClient {
  cachedClient ??= new RuntimeClient();
  return cachedClient;
}

function limitsOf(inputs: ContainerInputs): CgroupLimits {
  return containerLimits(inputs);
}

/** The container's cgroup name under hostform's parent. */
export function cgroupNameOf(inputs: ContainerInputs): string {
  return inputs.cgroupParent ? `${inputs.cgroupParent}/${inputs.name}` : inputs.name!;
}

function isMissing(err: unknown): boolean {
  return err instanceof NotFoundError && err.kind === "container";
}

async function stateOf(id: string): Promise<ContainerState | undefined> {
  try {
    return await client().state(id);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** What observe() found: the supervisor's state, the outputs, every live limit of the cgroup (null without one), the live network. */
interface Observation {
  state: ContainerState;
  outs: ContainerOutputs;
  limits: NormalizedLimits | null;
  network: NetworkLive;
}

/** The live container: its supervisor state and the outputs it gives. undefined when it is gone. */
async function observe(inputs: ContainerInputs, id: string, cgroupName: string, justMade = false): Promise<Observation | undefined> {
  const state = await stateOf(id);
  if (state === undefined) return undefined;
  const d = driver();
  let alive = (state.status === "running" || state.status === "created") && isSameProcess(state.pid, state.pidStartTime);
  const namespaces = alive ? namespaceInodes(state.pid) : undefined;
  const seccompMode = alive ? seccompModeOf(state.pid) : undefined;
  const idMappings = alive ? idMappingsOf(state.pid) : undefined;
  alive &&= namespaces !== undefined && seccompMode !== undefined && idMappings !== undefined;
  const limits = d.exists(cgroupName) ? d.read(cgroupName) : null;
  // Right after the network was made (and checked by its own ADDs), what was attached is what is there.
  const network: NetworkLive = (justMade ? expectedNetwork(inputs) : await observeNetwork(inputs)) ?? { networkInterfaces: {}, publishedPorts: [] };
  const outs: ContainerOutputs = {
    ...inputs,
    containerId: id,
    cgroupName,
    pid: alive ? state.pid : 0,
    pidStartTime: alive ? state.pidStartTime : 0,
    status: alive ? state.status : "stopped",
    idMappings: alive ? idMappings! : null,
    startedAt: state.started ?? "",
    restartCount: state.restartCount,
    exitCode: alive ? null : state.exitCode,
    logPath: state.logPath,
    inCgroup: alive && limits !== null && d.contains(cgroupName, state.pid),
    liveLimits: limits !== null ? projectLive(d.normalize(limitsOf(inputs)), limits) : null,
    missingHierarchies: limits !== null ? d.missingHierarchies(cgroupName) : [],
    seccompMode: alive ? seccompMode! : "",
    namespaces: alive ? namespaces! : {},
    networkInterfaces: network.networkInterfaces,
    publishedPorts: network.publishedPorts,
    exposedPorts: inputs.image?.config.exposedPorts ?? [],
  };
  return { state, outs, limits, network };
}

/**
 * The mappings the container was made with: its own user namespace's, a joined one's, or null for
 * the host's; undefined when it joined one whose mappings were not recorded (nothing to hold it to).
 */
function expectedIdMappings(state: ContainerState): { uid: IdMapping[]; gid: IdMapping[] } | null | undefined {
  const linux = state.spec.linux;
  if (linux?.uidMappings !== undefined && linux.gidMappings !== undefined) return { uid: linux.uidMappings, gid: linux.gidMappings };
  if (state.rootIdMappings !== undefined) return state.rootIdMappings;
  return linux?.namespaces?.some((n) => n.type === "user") === true ? undefined : null;
}

/** A job's run ended with exit 0 and no restart pending. */
function jobSucceeded(state: ContainerState): boolean {
  return state.status === "stopped" && state.exitCode === 0 && state.pendingRestart === undefined;
}

/**
 * The engine's refresh and drift call Read and then Diff for each resource, back to back: Diff of
 * the read candidate takes the observation Read just made instead of reading the host again (one
 * supervisor request and one cgroupfs read per resource, not two). An observation is taken at most
 * once, only by the Diff of the same container and cgroup, and only while fresh; create, update
 * and delete drop it, so a Diff never sees the host as it was before this provider changed it.
 */
const READ_REUSE_MS = 2_000;
const lastRead = new Map<string, { at: number; cgroupName: string; live: Observation | undefined }>();

function rememberRead(id: string, cgroupName: string, live: Observation | undefined): void {
  lastRead.set(id, { at: Date.now(), cgroupName, live });
}

async function observeForDiff(inputs: ContainerInputs, id: string, cgroupName: string): Promise<Observation | undefined> {
  const kept = lastRead.get(id);
  lastRead.delete(id);
  if (kept !== undefined && kept.cgroupName === cgroupName && Date.now() - kept.at <= READ_REUSE_MS) return kept.live;
  return observe(inputs, id, cgroupName);
}

async function mustObserve(inputs: ContainerInputs, id: string, cgroupName: string): Promise<ContainerOutputs> {
  const live = await observe(inputs, id, cgroupName, true);
  if (live === undefined) throw new ValidationError("name", `container ${id} vanished right after it was made`, "see `hostform ps` and the supervisor log");
  return live.outs;
}

/** Stops (declared signal, then SIGKILL after the timeout) and deletes; gone is success. */
async function removeContainer(id: string, cgroupName: string | undefined): Promise<void> {
  const c = client();
  try {
    await c.stop(id);
    await c.delete(id, { force: true });
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
  if (cgroupName !== undefined) await driver().delete(cgroupName);
}

/**
 * Makes the container's network and cgroup, then creates and starts it; nothing is left behind on
 * failure. A container run again keeps the network it had (see setUpNetwork).
 */
async function launch(inputs: ContainerInputs): Promise<void> {
  const id = inputs.name!;
  const cgroupName = cgroupNameOf(inputs);
  const spec = buildSpec(inputs);
  // The image's hold (a store write) overlaps the network and the start; all must succeed.
  const holding = holdContainerImage(id, inputs.image).then(
    () => undefined,
    (err: unknown) => ({ err }),
  );
  try {
    await setUpNetwork(inputs, ownerOf(inputs));
    try {
      await launchContainer(inputs, id, cgroupName, spec);
    } catch (err) {
      throw await afterUndo(err, `removing container ${id}'s network`, () => tearDownNetwork(inputs));
    }
  } catch (err) {
    const holdFailed = await holding;
    throw holdFailed !== undefined ? err : await afterUndo(err, `releasing container ${id}'s image`, () => releaseContainerImage(id, inputs.image));
  }
  const holdFailed = await holding;
  if (holdFailed !== undefined) {
    throw await afterUndo(holdFailed.err, `removing container ${id}, whose image could not be held`, async () => {
      await removeContainer(id, cgroupName);
      await tearDownNetwork(inputs);
    });
  }
  if (isJob(inputs)) await waitForJob(inputs, id, cgroupName);
}

/**
 * A job's run to its end (after the restarts its policy allows). Exit 0 is success; anything else
 * fails the operation with the exit and the tail of the job's log, and removes the job, so that the
 * next `up` runs it afresh.
 */
async function waitForJob(inputs: ContainerInputs, id: string, cgroupName: string): Promise<void> {
  const result = await client().wait(id);
  if (result.exitCode === 0) return;
  let tail = "";
  try {
    const st = await client().state(id);
    tail = readLog(st.logPath, st.logFiles, 10).toString("utf8").trimEnd();
  } catch {
    // The log is a courtesy: the exit says what happened.
  }
  const how = result.exitCode !== null ? `exit code ${result.exitCode}` : `signal ${result.signal ?? "?"}`;
  const err = new HostformError(`job ${id} (desiredState "exited") ended with ${how}${result.exitNote !== undefined ? ` (${result.exitNote})` : ""}${tail !== "" ? `; the end of its log:\n${tail}` : ""}`);
  throw await afterUndo(err, `removing job ${id}`, async () => {
    await removeContainer(id, cgroupName);
    await tearDownNetwork(inputs);
    await releaseContainerImage(id, inputs.image);
  });
}

async function launchContainer(inputs: ContainerInputs, id: string, cgroupName: string, spec: ReturnType<typeof buildSpec>): Promise<void> {
  const seccomp = seccompChoice(inputs);
  const owner = ownerOf(inputs);
  // The owner goes in with the spec: the container never exists without its record.
  spec.annotations = { ...spec.annotations, [SPEC_DIGEST_ANNOTATION]: specDigest(spec, seccomp.key, rootLayersOf(inputs)), ...(owner !== undefined ? ownerAnnotation(owner) : {}) };
  const policies = declaredPolicies(inputs);
  const d = driver();
  d.create(cgroupName, limitsOf(inputs));
  if (owner !== undefined) d.setOwner(cgroupName, owner);
  const options: Parameters<RuntimeClient["create"]>[2] = { cgroup: cgroupName, ...policies, bundle: "/" };
  const rootLayers = rootLayersOf(inputs);
  if (rootLayers !== undefined) options.rootLayers = rootLayers;
  if (inputs.userns === "auto") options.userns = "auto";
  const joined = inputs.namespaceIdMappings;
  if (joined !== undefined && joined !== null && inputs.namespacePaths?.user !== undefined) options.joinedUserns = { uidMappings: joined.uid, gidMappings: joined.gid };
  if (seccomp.option !== undefined) options.seccomp = seccomp.option;
  let state: ContainerState;
  try {
    await client().create(id, spec, options);
    // The start's state holds the warnings of prepare and of start.
    state = await client().start(id);
  } catch (err) {
    throw await afterUndo(asConfigError(err), `removing container ${id} and its cgroup`, async () => {
      try {
        await client().delete(id, { force: true });
      } catch (e) {
        // Not created at all: nothing of it to remove.
        if (!isMissing(e)) throw e;
      }
      await d.delete(cgroupName);
    });
  }
  reportWarnings(id, state.warnings);
}

/**
 * A provider has no warning channel of its own: a "warning:" line on stdout is what the engine
 * shows (the SeccompProfile provider warns the same way).
 */
function reportWarnings(id: string, warnings: readonly string[] | undefined): void {
  for (const w of warnings ?? []) console.log(`warning: container ${id}: ${w}`);
}

/** The declared ports; [] when there are none or they do not parse (check has refused those). */
function declaredPortsOrNone(inputs: ContainerInputs): unknown[] {
  try {
    return declaredPorts(inputs);
  } catch {
    return [];
  }
}

/** The digest the declaration would run with (adoption compares it with the live annotation). */
function declaredDigest(inputs: ContainerInputs): string {
  const spec = buildSpec(inputs);
  return specDigest(spec, seccompChoice(inputs, false).key, rootLayersOf(inputs));
}

/** Inputs with every not-yet-known value taken out, for validating what is known in preview. */
function knownView(inputs: ContainerInputs): { view: ContainerInputs; checkHost: boolean; complete: boolean } {
  const view: Record<string, unknown> = { ...inputs };
  let checkHost = true;
  let complete = true;
  for (const [k, v] of Object.entries(view)) {
    if (!containsUnknown(v)) continue;
    complete = false;
    delete view[k];
  }
  // A root not known yet (or an image not known yet): no host checks of it.
  if (view.rootfs === undefined && view.image === undefined) {
    view.rootfs = "/";
    checkHost = false;
  }
  return { view: view as unknown as ContainerInputs, checkHost, complete };
}

/**
 * Read for an import: the live container `id`, whoever made it, as inputs the provider's Diff can
 * hold against the declaration (see containerImport.ts). Nothing changes on the host.
 */
async function readForImport(id: string, declared: ContainerInputs): Promise<{ id: string; props: ContainerOutputs }> {
  const state = await stateOf(id);
  if (state === undefined) return { id: "", props: {} as ContainerOutputs };
  const probe = { ...declared, name: id };
  const live = await observe(probe, id, state.cgroup);
  if (live === undefined) return { id: "", props: {} as ContainerOutputs };
  const d = driver();
  const limitsMatch = live.limits !== null && diffLimits(d.normalize(limitsOf(declared)), live.limits).length === 0;
  const filtered = live.outs.status === "running" ? live.outs.seccompMode === "filter" : seccompChoice(declared, false).filtered;
  const inputs = importedInputs(probe, state, live.outs.liveLimits, limitsMatch, filtered);
  return { id, props: { ...live.outs, ...inputs, cgroupName: state.cgroup } };
}

/** Records `owner` on the container and its cgroup where another (or none) is recorded: how an import takes them over. */
function takeOver(id: string, cgroupName: string, state: ContainerState, owner: ReturnType<typeof ownerOf>): void {
  if (owner === undefined) return;
  warnTakeover("container", id, containerOwner(state), owner);
  if (!sameOwner(containerOwner(state), owner)) setContainerOwner(id, owner);
  if (!sameOwner(driver().owner(cgroupName), owner)) driver().setOwner(cgroupName, owner);
}

/** The v1 Container provider. */
export const provider: pulumi.dynamic.ResourceProvider<ContainerInputs, ContainerOutputs> = {
  async check(olds, news) {
    const inputs = chooseName(olds, news);
    const { view, checkHost, complete } = knownView(inputs);
    const failures = collectFailures([
      () => void validateId(inputs.name, "name"),
      () => void (view.cgroupParent !== undefined && view.cgroupParent !== null && cgroupSegments(`${view.cgroupParent}/${inputs.name}`, "cgroup")),
      () => void (view.limits !== undefined && view.limits !== null && driver().normalize(view.limits, "limits")),
      () => validatePolicies(view),
      () => void (complete && checkRootChoice(view)),
      // The ports on their own while the networks are not known yet (a preview before the Network exists).
      () => void (complete ? validateNetwork(view) : declaredPorts(view)),
      () => void (complete && seccompChoice(view, false)),
      () => void ((view.command !== undefined || view.image !== undefined) && buildSpec(view, checkHost)),
    ]);
    return { inputs, failures };
  },

  async diff(id, olds, news) {
    const replaces: string[] = REPLACE_KEYS.filter((k) => !sameValue(olds[k], news[k]));
    if (!sameValue(attachedNetworksOf(olds), attachedNetworksOf(news))) replaces.push("networks");
    // The name files are bind mounts: a container without them cannot be given them in place (nor the reverse).
    if (hasNames(olds) !== hasNames(news) && !replaces.includes("networks")) replaces.push(sameValue(olds.dns, news.dns) ? "extraHosts" : "dns");
    // Only an import's read reports these: spec parts of the live container no input can declare.
    const specDifferences = (olds as { specDifferences?: unknown }).specDifferences;
    if (Array.isArray(specDifferences)) replaces.push(...specDifferences.map((p) => `spec.${String(p)}`));
    // State written before namespaceIdentity existed has none: inodes alone decide there.
    if (olds.namespaceIdentity !== undefined && !sameValue(olds.namespaceIdentity, news.namespaceIdentity)) replaces.push("namespaceIdentity");
    const nsChanged = NAMESPACE_KEYS.some((k) => replaces.includes(k));
    if (replaces.length > 0) {
      // Published host ports are the old container's until it is gone.
      const holdsPorts = declaredPortsOrNone(olds).length > 0;
      return { changes: true, replaces, deleteBeforeReplace: nsChanged || holdsPorts || mustDeleteBeforeReplace(olds.name, news.name === UNKNOWN ? olds.name : news.name) };
    }
    const declared = IN_PLACE_KEYS.filter((k) => !sameValue(olds[k], news[k]));
    if (!sameValue(aliasesOf(olds), aliasesOf(news))) return { changes: true };
    if (declared.length > 0) return { changes: true };
    // Same declaration: the host decides.
    const cgroupName = olds.cgroupName ?? cgroupNameOf(news);
    const live = await observeForDiff(news, id, cgroupName);
    // A job is in sync once it exited 0 (or while it still runs); gone, or failed, it runs again.
    if (isJob(news)) return { changes: live === undefined || (live.outs.status !== "running" && !jobSucceeded(live.state)) };
    // Gone or stopped: update runs it again under the same id.
    if (live === undefined || live.outs.status !== "running") return { changes: true };
    const outs = live.outs;
    // A process cannot be moved into another namespace or given another filter: make a new one.
    if (!joinedNamespacesMatch(outs.namespaces, news.namespaceInodes, Object.keys(news.namespacePaths ?? {}))) {
      return { changes: true, replaces: ["namespaceInodes"], deleteBeforeReplace: true };
    }
    if ((outs.seccompMode === "filter") !== seccompChoice(news, false).filtered) {
      return { changes: true, replaces: ["seccomp"], deleteBeforeReplace: true };
    }
    // Nor be moved into another user namespace: its mappings are the ones it was made with, or it goes.
    const expected = expectedIdMappings(live.state);
    if (expected !== undefined && !sameValue(outs.idMappings, expected)) {
      return { changes: true, replaces: ["userns"], deleteBeforeReplace: true };
    }
    if (!outs.inCgroup || outs.liveLimits === null) return { changes: true };
    if (diffLimits(driver().normalize(limitsOf(news)), live.limits!).length > 0) return { changes: true };
    if (hasNetworks(news) && isDamaged(await networkDamage(news, live.network))) return { changes: true };
    return { changes: policiesDiffer(live.state, declaredPolicies(news)) };
  },

  async create(inputs) {
    const id = inputs.name!;
    lastRead.delete(id);
    const cgroupName = cgroupNameOf(inputs);
    const owner = ownerOf(inputs);
    // An interrupted earlier `up` of this very resource may have left the container running: it is
    // kept when it runs the same spec in the same cgroup, else removed and started over. A
    // container or cgroup of that name that anyone else owns (or no one: not made by hostform) is
    // refused; only an import takes it over.
    const existing = await observe(inputs, id, cgroupName);
    if (existing !== undefined) mustOwn("container", id, containerOwner(existing.state), owner);
    else if (driver().exists(cgroupName)) mustOwn("cgroup", cgroupName, driver().owner(cgroupName), owner);
    if (existing !== undefined) {
      const same = existing.outs.status === "running" && existing.state.cgroup === cgroupName && existing.state.annotations[SPEC_DIGEST_ANNOTATION] === declaredDigest(inputs);
      if (same) {
        const out = await provider.update!(id, existing.outs, inputs);
        return { id, outs: out.outs as ContainerOutputs };
      }
      await removeContainer(id, existing.state.cgroup);
    }
    await launch(inputs);
    return { id, outs: await mustObserve(inputs, id, cgroupName) };
  },

  async read(id, props) {
    if (props === undefined || props.name === undefined) return { id: "", props: {} as ContainerOutputs };
    const cgroupName = props.cgroupName ?? cgroupNameOf(props);
    if (isImportRead(props, "containerId")) return readForImport(id, props);
    const live = await observe(props, id, cgroupName);
    rememberRead(id, cgroupName, live);
    if (live === undefined) return { id: "", props: {} as ContainerOutputs };
    // A container whose process is gone is still there, but stopped: the engine's drift says so.
    const finishedJob = isJob(props) && jobSucceeded(live.state);
    return { id, props: withLiveStatus(live.outs, live.outs.status === "stopped" && !finishedJob ? "stopped" : undefined) };
  },

  async update(id, olds, news) {
    lastRead.delete(id);
    const cgroupName = olds.cgroupName ?? cgroupNameOf(news);
    const live = await observe(news, id, cgroupName);
    // A job that ran to success keeps its run: what changed in place applies to its next one.
    if (isJob(news) && live !== undefined && live.outs.status !== "running" && jobSucceeded(live.state)) return { outs: live.outs };
    if (live === undefined || live.outs.status !== "running") {
      // Stopped or gone (killed, exited, its state lost): run it again under the same id, in a
      // fresh cgroup (limits no longer declared must not linger).
      await removeContainer(id, cgroupName);
      await launch(news);
      return { outs: await mustObserve(news, id, cgroupName) };
    }
    const d = driver();
    // create() makes a deleted cgroup again and writes the limits; lifted values undo the ones
    // no longer declared.
    d.create(cgroupName, withLiftedLimits(limitsOf(olds), limitsOf(news)));
    if (!d.contains(cgroupName, live.state.pid)) await d.addProcess(cgroupName, live.state.pid);
    const policies = declaredPolicies(news);
    if (policiesDiffer(live.state, policies)) await rewritePolicies(client(), id, policies);
    if (hasNetworks(news)) {
      const damage = await networkDamage(news, live.network);
      if (isDamaged(damage)) await repairNetwork(news, damage);
    }
    updateNames(news);
    takeOver(id, cgroupName, live.state, ownerOf(news));
    return { outs: await mustObserve(news, id, cgroupName) };
  },

  async delete(id, props) {
    lastRead.delete(id);
    await removeContainer(id, props?.cgroupName ?? (props?.name !== undefined ? cgroupNameOf(props) : id));
    await tearDownNetwork({ ...props, name: props?.name ?? id });
    await releaseContainerImage(id, props?.image);
  },
};

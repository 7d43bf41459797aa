// What a container owns besides its processes, made at create and removed at delete: its state
// directory (state, logs, the compiled seccomp filter, a copy-on-write root) and the cgroup hostform made for it. A create
// that fails, here or in a supervisor that died mid-create, leaves none of it behind.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { SysError } from "../../sys/errors";
import type { CgroupDriver } from "../../cgroup/driver";
import { checkProgram } from "../lifecycleChecks";
import { mountRootOverlay } from "../rootOverlay";
import { formatRestartPolicy } from "../restartPolicy";
import { makeContainerDir, removeContainerDir, type ContainerState } from "../state";
import { mountIdmappedRoot, type RootSource } from "../idmappedRoot";
import type { ContainerSpec } from "../spec";
import { nextAutoMappings } from "../autoUserns";
import type { ContainerRecord } from "./containerRecord";
import { closeStdio } from "./containerStdio";
import type { CreatePlan } from "./createChecks";
import { killRecordedProcess } from "./containerSignals";

/** What setUpContainer needs from the supervisor. */
export interface SetupSteps {
  cgroups: CgroupDriver;
  /** A record for the new state (hooked to the state store). */
  newRecord(state: ContainerState): ContainerRecord;
  /** Brings the record to "created" (see ContainerLaunch.prepare). */
  prepare(rec: ContainerRecord): Promise<void>;
  /** Where a failure of the undo itself goes: the create's own error is the one thrown. */
  report(err: unknown, context: string): void;
}

/** Makes the container's directory, state, seccomp file and cgroup, then its waiting init. */
export async function setUpContainer(plan: CreatePlan, steps: SetupSteps): Promise<ContainerRecord> {
  const { id, spec } = plan;
  const dir = makeContainerDir(id, { mappedRoot: plan.autoUserns === true || spec.linux?.uidMappings !== undefined || plan.rootIdMappings !== undefined });
  const state: ContainerState = {
    ociVersion: spec.ociVersion, id, status: "creating", pid: 0, bundle: plan.bundle, annotations: spec.annotations ?? {},
    pidStartTime: 0, created: new Date().toISOString(), exitCode: null, signal: null, restartCount: 0,
    restartPolicy: formatRestartPolicy(plan.restartPolicy), stopSignal: plan.stopSignal, stopTimeout: plan.stopTimeout,
    cgroup: plan.cgroup, ownsCgroup: plan.ownsCgroup, logPath: join(dir, "container.log"), logMaxBytes: plan.logMaxBytes, logFiles: plan.logFiles,
    stdio: plan.stdio, spec,
  };
  if (plan.seccompBpf !== undefined) state.seccompPath = join(dir, "seccomp.bpf");
  if (plan.rootLayers !== undefined) state.rootLayers = plan.rootLayers;
  if (plan.idmapRootDir !== undefined) state.idmapRootDir = plan.idmapRootDir;
  if (plan.rootIdMappings !== undefined) state.rootIdMappings = plan.rootIdMappings;
  // Picked and recorded with no await in between: the state on disk is what the next pick sees.
  if (plan.autoUserns === true) {
    addAutoUserNamespace(spec);
    state.usernsAuto = true;
  }
  const rec = steps.newRecord(state);
  let madeCgroup = false;
  try {
    if (plan.seccompBpf !== undefined) writeSeccompFilter(join(dir, "seccomp.bpf"), plan.seccompBpf);
    // A record on disk from the first moment, so a supervisor dying mid-create leaves something the next one cleans.
    rec.save();
    if (plan.rootLayers !== undefined || plan.idmapRootDir !== undefined) {
      await mountContainerRoot(dir, state);
      checkProgram(spec, spec.root.path);
    }
    if (plan.ownsCgroup) {
      steps.cgroups.create(plan.cgroup, plan.limits);
      madeCgroup = true;
    }
    await steps.prepare(rec);
  } catch (err) {
    closeStdio(rec.stdioFds);
    if (madeCgroup) await steps.cgroups.delete(plan.cgroup).catch((e: unknown) => steps.report(e, `undo create of container ${id}: delete cgroup ${plan.cgroup}`));
    removeContainerDir(id);
    throw err;
  }
  return rec;
}

/**
 * Mounts the container's root at <dir>/rootfs when it is one hostform makes: a copy-on-write root
 * over layers, ID-mapped (layers or a rootfs directory) when the container has a user namespace of
 * its own. A no-op when it is mounted already.
 */
export async function mountContainerRoot(dir: string, state: Pick<ContainerState, "rootLayers" | "idmapRootDir" | "spec" | "rootIdMappings">): Promise<void> {
  const uidMappings = state.spec.linux?.uidMappings ?? state.rootIdMappings?.uid;
  const gidMappings = state.spec.linux?.gidMappings ?? state.rootIdMappings?.gid;
  const mapped = uidMappings !== undefined && gidMappings !== undefined;
  if (state.rootLayers !== undefined && !mapped) {
    mountRootOverlay(dir, state.rootLayers);
    return;
  }
  const source: RootSource | undefined = state.rootLayers !== undefined ? { layers: state.rootLayers } : state.idmapRootDir !== undefined ? { rootDir: state.idmapRootDir } : undefined;
  if (source !== undefined && mapped) await mountIdmappedRoot(dir, source, uidMappings, gidMappings);
}

/**
 * The spec the next userns "auto" container like `spec` would get, if none is deleted or made in
 * between: what the launcher's pool warms an init for, so that its start need not wait for one.
 */
export function nextAutoSpec(spec: ContainerSpec): ContainerSpec {
  const next = structuredClone(spec);
  setAutoMappings(next);
  return next;
}

/** Adds a user namespace with a free block of hostform's ids to spec (userns "auto"). */
function addAutoUserNamespace(spec: ContainerSpec): void {
  spec.linux ??= {};
  spec.linux.namespaces = [...(spec.linux.namespaces ?? []), { type: "user" }];
  setAutoMappings(spec);
}

/** Gives spec's user namespace the next "auto" block, for its uids and gids alike. */
function setAutoMappings(spec: ContainerSpec): void {
  const mappings = nextAutoMappings();
  spec.linux ??= {};
  spec.linux.uidMappings = mappings;
  spec.linux.gidMappings = mappings.map((m) => ({ ...m }));
}

/** Removes the container's cgroup (if hostform made it) and its directory; its processes are gone already. */
export async function tearDownContainer(rec: ContainerRecord, cgroups: CgroupDriver): Promise<void> {
  closeStdio(rec.stdioFds);
  if (rec.state.ownsCgroup) await cgroups.delete(rec.state.cgroup);
  removeContainerDir(rec.id);
}

/**
 * Undoes a create an earlier supervisor died in the middle of: its init killed, the cgroup it made
 * emptied and removed (in the background; a failure is reported), its directory removed.
 */
export function undoCreate(state: ContainerState, cgroups: CgroupDriver, report: (err: unknown, context: string) => void): void {
  killRecordedProcess(state.pid, state.pidStartTime, "SIGKILL");
  if (state.ownsCgroup && cgroups.exists(state.cgroup)) {
    void cgroups.kill(state.cgroup).then(() => cgroups.delete(state.cgroup)).catch((err: unknown) => report(err, `undo create of container ${state.id}: remove cgroup ${state.cgroup}`));
  }
  removeContainerDir(state.id);
}

function writeSeccompFilter(path: string, bpf: Buffer): void {
  try {
    writeFileSync(path, bpf, { mode: 0o600 });
  } catch (err) {
    throw SysError.fromNode(err, "write the container's seccomp filter");
  }
}

// Adoption of the containers an earlier supervisor of this run dir left behind (it was killed, or
// exited while containers ran). Their processes never depended on it; their state files say what
// each was doing, and the new supervisor takes over from there. A state file it cannot read is
// reported and its container kept under its id, never dropped: its processes may still run.
import { readdirSync } from "node:fs";
import { CorruptFileError, type HostformError, SysError, hasCode, withContext } from "../../sys/errors";
import type { CgroupDriver } from "../../cgroup/driver";
import { containerDir, isSameProcess, listStateIds, readState, removeContainerDir, statePath, type ContainerState } from "../state";
import { UNKNOWN_EXIT_NOTE, type ContainerRecord } from "./containerRecord";
import { killRecordedProcess } from "./containerSignals";
import { undoCreate } from "./containerSetup";

/** A container directory as found. */
export type LeftContainer =
  | { kind: "state"; state: ContainerState }
  /** Its state could not be read (CorruptFileError, or SysError when reading failed). */
  | { kind: "unreadable"; id: string; error: HostformError }
  /** No state.json and only what create writes before it: a create that died before anything else was made. */
  | { kind: "half-made"; id: string };

/** What adoption does with a container, by its stored status and whether its recorded process lives. */
export type AdoptionStep =
  /** Died mid-create: undone, so nothing half-made survives. */
  | "undo-create"
  /** Created: its init waited on the dead supervisor's launcher; killed, the container stopped. */
  | "stop-orphaned-init"
  /** Running, but its process is gone: an exit whose code is unknown; the restart policy decides. */
  | "exited-unwatched"
  /** Stopped with a restart pending: re-armed for the time it was due. */
  | "rearm-restart"
  /** Running, or stopped for good: kept as it is (a running one is polled from now on). */
  | "keep";

/** Files create writes before state.json: a directory holding nothing else was never more than that. */
const BEFORE_STATE = /^(seccomp\.bpf|\.state\.json\.\d+\.tmp)$/;

/** Every container directory of the run dir, read. */
export function readLeftContainers(): LeftContainer[] {
  const out: LeftContainer[] = [];
  for (const id of listStateIds()) {
    let state: ContainerState | undefined;
    try {
      state = readState(id);
    } catch (err) {
      out.push({ kind: "unreadable", id, error: withContext(err, `container ${id}`) });
      continue;
    }
    if (state !== undefined) out.push({ kind: "state", state });
    else if (onlyCreateLeftovers(id)) out.push({ kind: "half-made", id });
    else out.push({ kind: "unreadable", id, error: withContext(missingState(id), `container ${id}`) });
  }
  return out;
}

export function adoptionStep(state: ContainerState, alive: boolean): AdoptionStep {
  switch (state.status) {
    case "creating":
      return "undo-create";
    case "created":
      return "stop-orphaned-init";
    case "running":
      return alive ? "keep" : "exited-unwatched";
    case "stopped":
      return state.pendingRestart !== undefined ? "rearm-restart" : "keep";
  }
}

/** What adoption needs from the supervisor. */
export interface Adopter {
  cgroups(): CgroupDriver;
  /** A record for an adopted state, hooked to the state store. */
  newRecord(state: ContainerState): ContainerRecord;
  keep(rec: ContainerRecord): void;
  /** Keeps an unreadable container under its id: requests for it answer with its error. */
  quarantine(id: string, error: HostformError): void;
  /** An exit seen now (the supervisor's exit handling: restart policy, waiters). */
  exited(rec: ContainerRecord, note: string): void;
  /** Arms the restart stored in the record's state. */
  rearm(rec: ContainerRecord): void;
  report(err: unknown, context: string): void;
  log(line: string): void;
}

/** Takes over every container left in the run dir. */
export function adoptLeftContainers(a: Adopter): void {
  for (const left of readLeftContainers()) {
    if (left.kind === "unreadable") {
      a.quarantine(left.id, left.error);
      a.log(`${left.error.message}: not adopted; its processes, if any, are not watched (hostform-runtime delete --force ${left.id} removes its state directory)`);
      continue;
    }
    if (left.kind === "half-made") {
      removeContainerDir(left.id);
      a.log(`container ${left.id}: removed the directory of a create that stopped before its state was written`);
      continue;
    }
    const { state } = left;
    const rec = a.newRecord(state);
    const step = adoptionStep(state, isSameProcess(state.pid, state.pidStartTime));
    if (step === "undo-create") {
      undoCreate(state, a.cgroups(), (err, context) => a.report(err, context));
      continue;
    }
    a.keep(rec);
    if (step === "stop-orphaned-init") {
      // The waiting init exits when its launcher (the old supervisor) goes away.
      killRecordedProcess(state.pid, state.pidStartTime, "SIGKILL");
      rec.toStopped({ code: null, signal: null }, "the supervisor holding the created container exited before start");
    } else if (step === "exited-unwatched") {
      a.exited(rec, `${UNKNOWN_EXIT_NOTE}: it exited while no supervisor watched it`);
    } else if (step === "rearm-restart") {
      a.rearm(rec);
    }
  }
}

function onlyCreateLeftovers(id: string): boolean {
  let names: string[];
  try {
    names = readdirSync(containerDir(id));
  } catch (err) {
    // Removed since it was listed: nothing is left to adopt or to report.
    if (hasCode(err, "ENOENT")) return true;
    throw SysError.fromNode(err, `list the directory of container ${id}`);
  }
  return names.every((n) => BEFORE_STATE.test(n));
}

function missingState(id: string): HostformError {
  return new CorruptFileError(statePath(id), "is missing, but the directory holds more than a create writes before it");
}

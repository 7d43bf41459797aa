// A hostform-runtime container's record (<root>/<id>/state.json), and its status read from the
// kernel each time as runc derives it: there is no daemon to keep a status current. The init's pid
// with its start time names the process; the exec fifo says it waits for start; the freezer says
// paused; a pid that is gone, a zombie or reused says stopped.
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { atomicWrite } from "../../sys/atomicFile";
import { NotFoundError, SysError, ValidationError, hasCode } from "../../sys/errors";
import { readJsonFile } from "../../sys/jsonFile";
import type { CgroupDriver } from "../../cgroup/driver";
import { processStartTime, validateId } from "../state";
import type { OciStateJson } from "../hooks";
import type { ContainerSpec } from "../spec";
import { execFifoPath, ociContainerDir, ociRecordPath } from "./root";

export interface OciRecord {
  ociVersion: string;
  id: string;
  /** Host pid of the container's init (0 while create has not placed one). */
  pid: number;
  /** With pid, the process's identity (/proc/<pid>/stat field 22). */
  pidStartTime: number;
  bundle: string;
  /** root.path, absolute. */
  rootfs: string;
  created: string;
  annotations: Record<string, string>;
  /** The cgroup, relative to the hierarchies' roots (linux.cgroupsPath without its "/"). */
  cgroup: string;
  /** Whether create made the cgroup (delete removes only what it made). */
  ownsCgroup: boolean;
  /** Whether a filter was compiled (seccomp.bpf beside the record), for exec. */
  seccomp: boolean;
  /** The validated spec, root.path absolute: exec, hooks and delete need it. */
  spec: ContainerSpec;
}

/** "creating": the record exists, the init has not been recorded yet (a create in progress, or one killed half-way). */
export type OciStatus = "creating" | "created" | "running" | "paused" | "stopped";

/** The OCI state document, as `state` and `list --format json` print it (runc's fields and order). */
export interface OciStateDocument {
  ociVersion: string;
  id: string;
  pid: number;
  status: OciStatus;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

/** Makes <root>/<id>; an id in use fails the way runc's does. */
export function makeOciContainerDir(root: string, id: string): string {
  validateId(id);
  const dir = ociContainerDir(root, id);
  mkdirSync(root, { recursive: true, mode: 0o711 });
  try {
    mkdirSync(dir, { mode: 0o711 });
  } catch (err) {
    if (hasCode(err, "EEXIST")) throw new ValidationError("id", `container with id exists: ${id}`, "delete it first or pick another id");
    throw SysError.fromNode(err, `create ${dir}`);
  }
  return dir;
}

export function removeOciContainerDir(root: string, id: string): void {
  rmSync(ociContainerDir(root, id), { recursive: true, force: true });
}

export function writeOciRecord(root: string, rec: OciRecord): void {
  atomicWrite(ociRecordPath(root, rec.id), JSON.stringify(rec), { mode: 0o600 });
}

/** The record, or undefined when there is no such container (a dir without a record: a create in progress or torn). */
export function findOciRecord(root: string, id: string): OciRecord | undefined {
  validateId(id);
  return readJsonFile<OciRecord>(ociRecordPath(root, id), `state of container ${id}`, `delete it with: hostform-runtime delete --force ${id}`);
}

/** The record; NotFoundError with runc's words ("does not exist") when there is none. */
export function loadOciRecord(root: string, id: string): OciRecord {
  const rec = findOciRecord(root, id);
  if (rec === undefined) throw new NotFoundError("container", id, "list them with: hostform-runtime list");
  return rec;
}

/** Ids with a directory under root, sorted. */
export function listOciIds(root: string): string[] {
  try {
    return readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch (err) {
    if (hasCode(err, "ENOENT")) return [];
    throw SysError.fromNode(err, `list ${root}`);
  }
}

/** Whether the recorded init is still that process and not a zombie. */
export function initAlive(rec: Pick<OciRecord, "pid" | "pidStartTime">): boolean {
  return rec.pid > 0 && processStartTime(rec.pid) === rec.pidStartTime;
}

export function liveStatus(root: string, rec: OciRecord, cgroups: CgroupDriver): OciStatus {
  if (rec.pid === 0) return "creating";
  if (!initAlive(rec)) return "stopped";
  if (existsSync(execFifoPath(root, rec.id))) return "created";
  if (cgroups.exists(rec.cgroup) && cgroups.isFrozen(rec.cgroup)) return "paused";
  return "running";
}

/** The state hooks get on stdin, as runc gives it: no rootfs, created or owner; a pid only while there is one. */
export function hookState(rec: Pick<OciRecord, "ociVersion" | "id" | "bundle" | "annotations">, status: OciStateJson["status"], pid?: number): OciStateJson {
  const s: OciStateJson = { ociVersion: rec.ociVersion, id: rec.id, status, bundle: rec.bundle, annotations: rec.annotations };
  if (pid !== undefined) s.pid = pid;
  return s;
}

export function stateDocument(rec: OciRecord, status: OciStatus): OciStateDocument {
  const doc: OciStateDocument = {
    ociVersion: rec.ociVersion, id: rec.id, pid: status === "stopped" ? 0 : rec.pid, status, bundle: rec.bundle, rootfs: rec.rootfs, created: rec.created, owner: "",
  };
  if (Object.keys(rec.annotations).length > 0) doc.annotations = rec.annotations;
  return doc;
}

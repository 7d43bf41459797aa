// Container state on disk: <runDir>/containers/<id>/state.json. It is the OCI state (what
// `hostform-runtime state` prints) plus what a later supervisor needs to adopt the container: the
// pid's start time (a pid alone may have been reused), the cgroup, the log file and the policies.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { SysError, ValidationError, hasCode } from "../sys/errors";
import { containersDir } from "../sys/paths";
import type { ContainerSpec } from "./spec";

/** OCI status values. "creating" is internal (the state dir exists, the init is not placed yet). */
export type ContainerStatus = "creating" | "created" | "running" | "stopped";

/** The state of one container as stored. The first six fields are the OCI state. */
export interface ContainerState {
  ociVersion: string;
  id: string;
  status: ContainerStatus;
  /** Host PID of the container's PID 1; 0 when stopped. */
  pid: number;
  bundle: string;
  annotations: Record<string, string>;
  /** /proc/<pid>/stat field 22 (clock ticks since boot) of `pid`, so a reused pid is not mistaken for it. */
  pidStartTime: number;
  created: string;
  started?: string;
  finished?: string;
  /** Exit code (128+signal when killed); null when unknown (the container was adopted or never started). */
  exitCode: number | null;
  signal: string | null;
  /**
   * Why exitCode is null, or other facts about the last exit. An adopted container (not the current
   * supervisor's child) always gets one saying its exit code is unknown, never a made-up code.
   */
  exitNote?: string;
  restartCount: number;
  restartPolicy: string;
  stopSignal: string;
  /** Seconds between the stop signal and SIGKILL of the whole cgroup. */
  stopTimeout: number;
  /** Cgroup name under hostform's parent; `ownsCgroup` says whether delete removes it. */
  cgroup: string;
  ownsCgroup: boolean;
  logPath: string;
  /** Log file size that triggers rotation, and how many rotated files are kept. */
  logMaxBytes: number;
  logFiles: number;
  /** Where stdio goes: the log file, or fds of the creating client (paths under /proc). */
  stdio: "log" | string[];
  /** The validated spec with root.path absolute. */
  spec: ContainerSpec;
  /** File holding the compiled seccomp filter, reused on restart; absent when there is none. */
  seccompPath?: string;
  /**
   * What the init of the latest run did differently from the spec without failing (e.g. an ambient
   * capability the kernel cannot raise, skipped as runc does); absent when there was nothing.
   */
  warnings?: string[];
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Container ids become directory and cgroup names: keep them to a safe alphabet. */
export function validateId(id: unknown, field = "id"): string {
  if (typeof id !== "string" || !ID_RE.test(id)) {
    throw new ValidationError(field, `${JSON.stringify(id)} is not a valid container id`, "use 1-128 characters of A-Z a-z 0-9 _ . - starting with a letter or digit");
  }
  return id;
}

/** Directory of a container's state and logs. */
export function containerDir(id: string): string {
  return join(containersDir(), validateId(id));
}

export function statePath(id: string): string {
  return join(containerDir(id), "state.json");
}

/** Writes state.json atomically: a reader sees the old or the new file, never a torn one. */
export function writeState(state: ContainerState): void {
  const dir = containerDir(state.id);
  const tmp = join(dir, `.state.json.${process.pid}.tmp`);
  try {
    const fd = openSync(tmp, "w", 0o600);
    try {
      writeSync(fd, `${JSON.stringify(state, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, "state.json"));
  } catch (err) {
    rmSync(tmp, { force: true });
    throw SysError.fromNode(err, `write state of container ${state.id}`);
  }
}

/** Reads a container's state; undefined when it does not exist. */
export function readState(id: string): ContainerState | undefined {
  try {
    return JSON.parse(readFileSync(statePath(id), "utf8")) as ContainerState;
  } catch (err) {
    if (hasCode(err, "ENOENT")) return undefined;
    if (err instanceof SyntaxError) throw new ValidationError(statePath(id), `is not valid JSON (${err.message})`, "delete the container with --force");
    throw SysError.fromNode(err, `read state of container ${id}`);
  }
}

/** Creates the container's directory; fails with a clear error if the id is taken. */
export function makeContainerDir(id: string): string {
  const dir = containerDir(id);
  mkdirSync(containersDir(), { recursive: true, mode: 0o700 });
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if (hasCode(err, "EEXIST")) throw new ValidationError("id", `container ${id} already exists`, "pick another id or delete the old container");
    throw SysError.fromNode(err, `create state directory of container ${id}`);
  }
  return dir;
}

export function removeContainerDir(id: string): void {
  rmSync(containerDir(id), { recursive: true, force: true });
}

/** Ids of every container with a state directory. */
export function listStateIds(): string[] {
  try {
    return readdirSync(containersDir()).filter((n) => ID_RE.test(n)).sort();
  } catch (err) {
    if (hasCode(err, "ENOENT")) return [];
    throw SysError.fromNode(err, "list containers");
  }
}

/** The OCI state document (runtime-spec "State"), as `state` prints it. */
export function ociState(s: ContainerState): { ociVersion: string; id: string; status: string; pid?: number; bundle: string; annotations: Record<string, string> } {
  const status = s.status === "creating" ? "creating" : s.status;
  const out: ReturnType<typeof ociState> = { ociVersion: s.ociVersion, id: s.id, status, bundle: s.bundle, annotations: s.annotations };
  if (s.status === "created" || s.status === "running") out.pid = s.pid;
  return out;
}

/**
 * Start time of a process (/proc/<pid>/stat field 22, clock ticks since boot); undefined if it is gone.
 * The comm field may hold spaces and parentheses, so fields are counted after the last ')'.
 */
export function processStartTime(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch (err) {
    if (hasCode(err, "ENOENT") || hasCode(err, "ESRCH")) return undefined;
    throw SysError.fromNode(err, `read /proc/${pid}/stat`);
  }
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); field 22 is rest[19]. A zombie has exited already.
  if (rest[0] === "Z" || rest[0] === "X") return undefined;
  return Number(rest[19]);
}

/** Whether `pid` still is the process that was recorded with `startTime`. */
export function isSameProcess(pid: number, startTime: number): boolean {
  return pid > 0 && processStartTime(pid) === startTime;
}

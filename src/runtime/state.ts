// Container state on disk: <runDir>/containers/<id>/state.json. It is the OCI state (what
// `hostform-runtime state` prints) plus what a later supervisor needs to adopt the container: the
// pid's start time (a pid alone may have been reused), the cgroup, the log file and the policies.
import type { IdMapping } from "../ns/idMapping";
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { CorruptFileError, SysError, ValidationError, hasCode } from "../sys/errors";
import { containersDir } from "../sys/paths";
import type { ContainerSpec } from "./spec";
import { unmountRootOverlay } from "./rootOverlay";

/** OCI status values. "creating" is internal (the state dir exists, the init is not placed yet). */
export type ContainerStatus = "creating" | "created" | "running" | "stopped";

/**
 * A restart the supervisor decided on and is waiting to make (the back-off). Stored with the rest
 * of the state so that a supervisor adopting the container re-arms it for the same moment.
 */
export interface PendingRestart {
  /** When the restart is due (ISO time). */
  at: string;
  /** The back-off chosen at the exit. */
  delayMs: number;
  /** Back-off step (0-based since the last reset) that gave delayMs; a failure of the restarted run takes the next. */
  attempt: number;
  /** Why it restarts although success or failure was not seen (on-failure and an unknown exit code). */
  reason?: string;
}

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
   * Why exitCode is null, or other facts about the last exit, for people to read (nothing parses
   * it). An adopted container (not the current supervisor's child) always gets one saying its exit
   * code is unknown, never a made-up code. A pending restart is in pendingRestart, not here.
   */
  exitNote?: string;
  /** Set while the container is stopped and its restart policy has a restart waiting. */
  pendingRestart?: PendingRestart;
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
  /**
   * A copy-on-write root: the read-only layers (topmost first) mounted as overlayfs at spec.root.path
   * (<container dir>/rootfs) over <container dir>/upper; absent for a root used as it is.
   */
  rootLayers?: string[];
  /** A rootfs directory seen through an ID-mapped mount at spec.root.path (a user namespace of the container's own). */
  idmapRootDir?: string;
  /** The user namespace's mappings were picked by userns "auto" (a block of hostform's range). */
  usernsAuto?: boolean;
  /** The mappings of the user namespace the spec joins by path, which the root is ID-mapped with. */
  rootIdMappings?: { uid: IdMapping[]; gid: IdMapping[] };
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

/**
 * Reads a container's state; undefined when it does not exist. A file that is not what writeState
 * writes (torn by hand, from another program, a wrong id) is a CorruptFileError naming the file.
 */
export function readState(id: string): ContainerState | undefined {
  const path = statePath(id);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (hasCode(err, "ENOENT")) return undefined;
    throw SysError.fromNode(err, `read state of container ${id}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CorruptFileError(path, `is not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const problem = stateShapeProblem(value, id);
  if (problem !== undefined) throw new CorruptFileError(path, problem);
  return value as ContainerState;
}

const STATUSES: readonly unknown[] = ["creating", "created", "running", "stopped"] satisfies ContainerStatus[];
const isString = (v: unknown): boolean => typeof v === "string";
const isNumber = (v: unknown): boolean => typeof v === "number" && Number.isFinite(v);
const isObject = (v: unknown): boolean => typeof v === "object" && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): boolean => Array.isArray(v) && v.every(isString);

/** Each stored field with what it must hold; optional ones may be absent. */
const FIELDS: ReadonlyArray<[keyof ContainerState, (v: unknown) => boolean, string, "optional"?]> = [
  ["ociVersion", isString, "a string"],
  ["status", (v) => STATUSES.includes(v), `one of ${STATUSES.join(", ")}`],
  ["pid", isNumber, "a pid"],
  ["bundle", isString, "a path"],
  ["annotations", isObject, "an object"],
  ["pidStartTime", isNumber, "a number"],
  ["created", isString, "a time"],
  ["started", isString, "a time", "optional"],
  ["finished", isString, "a time", "optional"],
  ["exitCode", (v) => v === null || isNumber(v), "a number or null"],
  ["signal", (v) => v === null || isString(v), "a signal name or null"],
  ["exitNote", isString, "a string", "optional"],
  ["pendingRestart", (v) => isObject(v) && isString((v as PendingRestart).at) && isNumber((v as PendingRestart).delayMs) && isNumber((v as PendingRestart).attempt), "{ at, delayMs, attempt }", "optional"],
  ["restartCount", isNumber, "a number"],
  ["restartPolicy", isString, "a policy"],
  ["stopSignal", isString, "a signal name"],
  ["stopTimeout", isNumber, "a number of seconds"],
  ["cgroup", isString, "a cgroup name"],
  ["ownsCgroup", (v) => typeof v === "boolean", "a boolean"],
  ["logPath", isString, "a path"],
  ["logMaxBytes", isNumber, "a size"],
  ["logFiles", isNumber, "a count"],
  ["stdio", (v) => v === "log" || isStrings(v), '"log" or a list of paths'],
  ["spec", isObject, "an object"],
  ["seccompPath", isString, "a path", "optional"],
  ["warnings", isStrings, "a list of strings", "optional"],
];

/** What is wrong with a parsed state file of container `id`, or undefined when nothing is. */
function stateShapeProblem(value: unknown, id: string): string | undefined {
  if (!isObject(value)) return "is not a JSON object";
  const record = value as Record<string, unknown>;
  if (record.id !== id) return `holds container ${JSON.stringify(record.id)}, not ${id}`;
  for (const [field, ok, what, optional] of FIELDS) {
    const v = record[field];
    if (v === undefined && optional === "optional") continue;
    if (!ok(v)) return `${field} is ${v === undefined ? "missing" : JSON.stringify(v)}, not ${what}`;
  }
  return undefined;
}

/**
 * The exit note as people read it: the note, then while a restart is pending why and when, as
 * "exit code unknown: ...; on-failure counts an unknown exit code as a failure; restarting in 200 ms".
 */
export function exitNoteWithRestart(s: Pick<ContainerState, "exitNote" | "pendingRestart">): string | undefined {
  const parts = [s.exitNote, s.pendingRestart?.reason];
  if (s.pendingRestart !== undefined) parts.push(`restarting in ${s.pendingRestart.delayMs} ms`);
  const text = parts.filter((p) => p !== undefined && p !== "").join("; ");
  return text === "" ? undefined : text;
}

/**
 * Creates the container's directory; fails with a clear error if the id is taken. `mappedRoot`: the
 * container's root is an unprivileged uid on the host (a user namespace of its own), whose init must
 * reach <dir>/rootfs: the directory, and the one holding all of them, let others through (0711) but
 * not list them; what is inside stays the owner's (state 0600, logs 0640).
 */
export function makeContainerDir(id: string, options: { mappedRoot?: boolean } = {}): string {
  const dir = containerDir(id);
  const mode = options.mappedRoot === true ? 0o711 : 0o700;
  mkdirSync(containersDir(), { recursive: true, mode: 0o700 });
  try {
    if (options.mappedRoot === true) chmodSync(containersDir(), 0o711);
    mkdirSync(dir, { mode });
    // mkdir's mode went through the umask.
    chmodSync(dir, mode);
  } catch (err) {
    if (hasCode(err, "EEXIST")) throw new ValidationError("id", `container ${id} already exists`, "pick another id or delete the old container");
    throw SysError.fromNode(err, `create state directory of container ${id}`);
  }
  return dir;
}

/** Removes the container's directory, its copy-on-write root unmounted first (whatever removes a container comes here). */
export function removeContainerDir(id: string): void {
  unmountRootOverlay(containerDir(id));
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

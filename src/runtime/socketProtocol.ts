// The supervisor's protocol: one JSON request per connection on <runDir>/supervisor.sock, answered
// by one JSON line. A connection per request keeps both ends simple and lets `wait` hold its own
// connection open for as long as the container runs.
import type { IdMapping } from "../ns/idMapping";
import { join } from "node:path";
import type { WireError } from "../sys/errors";
import type { CgroupLimits } from "../cgroup/spec";
import type { ContainerState } from "./state";

/** Path of the supervisor socket in a run dir. */
export function supervisorSocketPath(runDirectory: string): string {
  return join(runDirectory, "supervisor.sock");
}

/** Where a container's fds 0-2 come from. */
export type StdioRequest =
  /** stdin /dev/null, stdout and stderr appended to the container's log file. */
  | { kind: "log" }
  /** The client's own fds 0-2 (opened through /proc/<pid>/fd); a socket, which cannot be reopened, falls back to the log. */
  | { kind: "client"; pid: number };

/** Everything create needs besides the spec. */
export interface CreateOptions {
  /** "no" | "always" | "on-failure[:N]" (default "no"). */
  restartPolicy?: string;
  /** Signal stop() sends first (default SIGTERM, or the spec's annotation org.opencontainers.image.stopSignal). */
  stopSignal?: string;
  /** Seconds stop() waits before killing the whole cgroup (default 10). */
  stopTimeout?: number;
  /** Limits of the cgroup hostform creates for the container (hostform/<id>). */
  limits?: CgroupLimits;
  /** Use this existing cgroup (name under hostform's parent) instead of creating one; delete leaves it. */
  cgroup?: string;
  /** Compiled seccomp filter, base64; "none" for no filter. Default: the client compiles one. */
  seccompBpf?: string;
  logMaxBytes?: number;
  logFiles?: number;
  stdio?: StdioRequest;
  /** Directory a relative root.path is resolved against; also the OCI state's bundle. */
  bundle?: string;
  /**
   * A copy-on-write root: these read-only directories (topmost first) under an upper directory of the
   * container's own, mounted at <container dir>/rootfs, which becomes root.path (the spec's is ignored).
   */
  rootLayers?: string[];
  /**
   * "auto": a user namespace with a 65536-id block of hostform's /etc/subuid and /etc/subgid range
   * that no other container has (issue 16), added to the spec at create; the block is free again
   * once the container is deleted. The root is then ID-mapped. Explicit mappings come in the spec.
   */
  userns?: "auto";
  /**
   * The mappings of a user namespace the spec joins by path (a Namespace set's): the root is then
   * ID-mapped with them, as it is for a user namespace of the container's own.
   */
  joinedUserns?: { uidMappings: IdMapping[]; gidMappings: IdMapping[] };
}

/** Settings of a container that `update` changes while it runs; absent fields keep their value. */
export interface UpdateOptions {
  /** "no" | "always" | "on-failure[:N]": decides every exit from now on, including one whose restart is pending. */
  restartPolicy?: string;
  /** Signal the next stop() sends first. */
  stopSignal?: string;
  /** Seconds the next stop() waits before killing the whole cgroup. */
  stopTimeout?: number;
}

export type SupervisorRequest =
  | { op: "ping" }
  | { op: "create"; id: string; spec: unknown; options: CreateOptions }
  | { op: "start"; id: string }
  | { op: "state"; id: string }
  | { op: "list" }
  | { op: "kill"; id: string; signal: string }
  | { op: "stop"; id: string; timeout?: number }
  | { op: "delete"; id: string; force?: boolean }
  | { op: "wait"; id: string }
  | ({ op: "update"; id: string } & UpdateOptions)
  /** Exit without touching containers (they keep running; the next supervisor adopts them). */
  | { op: "shutdown" };

/** How a container ended, as wait() reports it. */
export interface WaitResult {
  exitCode: number | null;
  signal: string | null;
  exitNote?: string;
}

/**
 * The answer to `list`: every container the supervisor knows, and those whose state file it could
 * not read (kept under their id, never dropped: their processes may still run).
 */
export interface ListResult {
  containers: ContainerState[];
  /** Each with the typed error (CorruptFileError, or SysError when the file could not be read). */
  unreadable: Array<{ id: string; error: WireError }>;
}

/** Result type per request. */
export interface SupervisorResults {
  ping: { pid: number; containers: number };
  create: ContainerState;
  start: ContainerState;
  state: ContainerState;
  list: ListResult;
  kill: ContainerState;
  stop: ContainerState;
  delete: { id: string };
  wait: WaitResult;
  update: ContainerState;
  shutdown: { pid: number };
}

export type SupervisorResponse = { ok: true; result: unknown } | { ok: false; error: WireError };

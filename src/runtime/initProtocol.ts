// Messages between the launcher and a container init, one JSON object per line over the init's
// fd 3 (a socketpair). The init reports "ready" once warm and gets one "prepare" with the spec; it
// builds the container, maybe sends "warning"s, says "prepared" (OCI "created") and waits. On
// "start" it says "exec" right before execve. After that the socket closes on exec (close-on-exec),
// like runc's exec fifo: EOF after "exec" with no "error" means the user's program is running. EOF
// while prepared (no "start") makes the init exit.
import { join } from "node:path";
import type { WireError } from "../sys/errors";
import type { ContainerSpec } from "./spec";

/** The init's executable, for the workers that spawn it. */
export const INIT_ENTRY_PATH = join(__dirname, "init", "entry.js");

/** fd of the launcher socket in the init. */
export const INIT_SOCKET_FD = 3;
/**
 * fd of a pidfd for the launcher process in the init, used to copy stdio fds from it; in an init
 * in a user namespace, which may not copy them, a unix socket they are sent on instead (sentFds).
 */
export const INIT_LAUNCHER_PIDFD = 4;
/** fd of a pidfd for the container an exec init joins (exec mode only). */
export const INIT_TARGET_PIDFD = 5;

/** Launcher → init: everything the init needs to become the container. */
export interface PrepareRequest {
  kind: "prepare";
  /** Validated spec with root.path absolute. */
  spec: ContainerSpec;
  /** Compiled seccomp BPF (sock_filter records), base64; loaded last. */
  seccompBpf?: string;
  /** Launcher fds to become the container's fds 0, 1, 2; null: the container's /dev/null. */
  stdio: [number | null, number | null, number | null];
  /**
   * With spec.process.terminal: a launcher fd of a connected unix socket. The init copies it, makes
   * a pty of the container's devpts its fds 0-2 (stdio is ignored) and sends the master over it.
   */
  consoleSocket?: number;
  /**
   * Launcher fds of the namespaces to join (network, uts, ipc, cgroup), opened from the paths by
   * the launcher: a warm init's mount namespace is a copy from its spawn, so a namespace pinned
   * since then is not at its path there.
   */
  joinFds?: Partial<Record<"mount" | "network" | "uts" | "ipc" | "cgroup", number>>;
  /**
   * A launcher fd of the container's exec fifo (hostform-runtime, runc's model): the prepared init
   * waits for a byte on it instead of "start" on its socket, so it outlives the launcher that made
   * it, and `start` is any later process that writes to the fifo.
   */
  startFifo?: number;
  /** Launcher fds to become the program's fds 3, 4, ... (--preserve-fds, LISTEN_FDS). */
  extraFds?: number[];
  /**
   * Launcher fds of detached ID-mapped trees, by index in spec.mounts: the "idmap"/"ridmap" bind
   * mounts, made by the launcher (mapping a mount needs root of the filesystem's user namespace,
   * which an init in a user namespace is not); the init attaches each at its destination.
   */
  idmapFds?: Record<number, number>;
  /**
   * Set for an init in a user namespace: the launcher fds this request names, in the order the
   * launcher sent them over the socket on INIT_LAUNCHER_PIDFD (one SCM_RIGHTS message each)
   * before the request. The init takes them from there instead of through a pidfd.
   */
  sentFds?: number[];
  /**
   * The OCI state JSON (id, bundle, annotations, ...) for the createContainer and startContainer hooks
   * the init runs; it sets pid and status itself. Needed when spec.hooks has either phase.
   */
  hookState?: string;
  /**
   * The launcher runs prestart and createRuntime hooks: before pivot_root (and the createContainer
   * hooks) the init says "runtimeHooks" and waits for "continue", as runc's init waits for its parent.
   */
  runtimeHooks?: boolean;
}

/** Launcher → prepared init: execve the program now. */
export interface StartRequest {
  kind: "start";
}

/**
 * Executor → init (exec mode): run one more process in a running container. The init was born in
 * the container's pid/net/uts/ipc/cgroup namespaces and placed in its cgroups; it joins the mount
 * namespace itself (through the pidfd on INIT_TARGET_PIDFD), then sets up the process as "start"
 * would, minus everything that builds the container.
 */
export interface ExecRequest {
  kind: "exec";
  /** The container's spec with process.args/env/cwd replaced by the exec's. */
  spec: ContainerSpec;
  /** `--user` to resolve inside the container ("uid[:gid]" or "name[:group]"); absent: spec.process.user. */
  user?: string;
  /** The container's compiled seccomp BPF, base64. */
  seccompBpf?: string;
  /** Executor fds to become the process's fds 0, 1, 2; null: the container's /dev/null. */
  stdio: [number | null, number | null, number | null];
  /** fd 0 is a terminal: make it the controlling terminal of a new session. */
  terminal: boolean;
  /**
   * Say "prepared", then exec only once the executor has gone (EOF on the socket): the process is
   * then never the executor's child when it exits, so no reaping by the executor can take its exit
   * status from the caller's subreaper (`exec --detach`, as runc leaves the process).
   */
  detach?: boolean;
  /** Executor fds to become the process's fds 3, 4, ... (--preserve-fds, LISTEN_FDS). */
  extraFds?: number[];
  /** As PrepareRequest.sentFds, for an exec init in the container's user namespace. */
  sentFds?: number[];
}

/** What an idle init may be asked to do first. */
export type InitRequest = PrepareRequest | ExecRequest;

/** A failure before exec, carried as data so the launcher can rebuild a typed error. */
export interface InitFailure {
  kind: "error";
  /** The setup step that failed ("mount /data", "pivot_root", "resolve program", ...). */
  step: string;
  /** The error's message with the step as context ("mount /data: stat /data: ENOENT (...)"). */
  message: string;
  /** The typed error itself (class, fields, cause chain), step context included. */
  error?: WireError;
  syscall?: string;
  errno?: number;
  path?: string;
  /** Set when the cause is the spec (e.g. the program does not exist): becomes a ValidationError. */
  field?: string;
}

/** Something the init did differently from the spec without failing (e.g. an ambient cap it could not raise). */
export interface InitWarning {
  kind: "warning";
  message: string;
}

export type InitMessage = { kind: "ready" } | { kind: "runtimeHooks" } | { kind: "prepared" } | { kind: "exec" } | InitWarning | InitFailure;

/** Splits a byte stream into complete JSON lines; keeps the partial tail. */
export class LineDecoder {
  private tail = "";

  push(chunk: string): unknown[] {
    this.tail += chunk;
    const lines = this.tail.split("\n");
    this.tail = lines.pop() ?? "";
    return lines.filter((l) => l !== "").map((l) => JSON.parse(l) as unknown);
  }
}

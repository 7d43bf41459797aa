// Starts containers from inside a long-lived hostform process without paying Node's start-up on
// the hot path: a pool of pre-warmed inits (src/runtime/init/), each already PID 1 of fresh
// namespaces with its modules loaded, waits for a spec. prepare() hands one a spec and it builds
// the container up to just before execve (OCI "created"); start() lets it exec the program, so no
// hostform process stays behind per container. launch() is both.
import { closeSync, openSync, statSync, writeFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { Worker } from "node:worker_threads";
import * as libc from "../sys/libc";
import { HostformError, SysError, ValidationError, hasCode } from "../sys/errors";
import { CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER, CLONE_NEWUTS, RLIMITS } from "../sys/constants";
import { socketPair } from "../sys/unixSocket";
import { sendRequestFds } from "./requestFds";
import { signalNumber } from "../sys/signals";
import { cloneFlag, type OciNamespaceType } from "../sys/namespaces";
import { validateSpec, type ContainerSpec } from "./spec";
import { INIT_ENTRY_PATH, type PrepareRequest } from "./initProtocol";
import { InitTracker, type ContainerExit } from "./initTracker";
import type { SpawnWorkerData, WorkerEvent, WorkerRequest } from "./spawnWorker";
import type { NsspawnPlan } from "./nsspawn";
import { idMapText } from "./specUserNamespace";
import { assertInitReachable } from "./initReach";
import { idmappedTree } from "../sys/idmapMount";
import { openUserNamespace } from "../ns/userNamespaceFd";

export type { ContainerExit } from "./initTracker";
export { ContainerStartError } from "./initFailure";

/** A container whose program has been exec'd. */
export interface LaunchedContainer {
  /** Host PID of the container's PID 1 (the user's program). */
  pid: number;
  /** A pidfd for pid; valid until `exited` settles, then closed by the launcher. */
  pidfd: number;
  exited: Promise<ContainerExit>;
  /** What the init did differently from the spec without failing (see PreparedContainer.warnings). */
  warnings: string[];
}

/** One of the container's fds 0-2: a fd of this process, "inherit" (the same fd number here) or "ignore" (/dev/null). */
export type StdioChoice = number | "inherit" | "ignore";

export interface LaunchOptions {
  /**
   * Called with the init's host PID before it is told to start: place it in the container's cgroup
   * here. The init forks nothing, so once it is in the cgroup every process of the container is.
   */
  onCgroup?: (pid: number) => Promise<void> | void;
  /** fds 0, 1, 2 of the container; they must stay open until prepare() settles. Default: all "ignore". */
  stdio?: [StdioChoice, StdioChoice, StdioChoice];
  /** Compiled seccomp program (sock_filter records), required when spec.linux.seccomp is set. */
  seccompFilter?: Buffer;
  /** Directory a relative root.path is resolved against. */
  bundle?: string;
  /**
   * An fd of the container's exec fifo, held read-write: the prepared init waits for a byte on it
   * instead of start() (hostform-runtime's `start` writes it), so it outlives this launcher.
   */
  startFifo?: number;
  /** fds of this process to become the program's fds 3, 4, ...; open until prepare() settles. */
  extraFds?: number[];
  /**
   * A fd of this process: a unix socket connected to whoever takes the terminal of a
   * process.terminal container (runc's --console-socket). The init sends the pty master over it
   * in prepare() and closes its copy; stdio is then ignored. Required with process.terminal, refused without.
   */
  consoleSocket?: number;
  /** The OCI state JSON the init's createContainer and startContainer hooks get (it sets pid and status). */
  hookState?: string;
  /**
   * Runs the runtime's prestart and createRuntime hooks while the init waits before pivot_root
   * (runc's order); a failure fails prepare() with that error, the init killed.
   */
  onRuntimeHooks?: (pid: number) => Promise<void> | void;
}

/**
 * A container built and waiting (OCI "created"): namespaces, cgroup, mounts, pivot_root, hostname,
 * rlimits, stdio, user, capabilities and no_new_privs are in place; only the seccomp filter (when
 * no_new_privs lets it wait) and execve are left for start().
 */
export interface PreparedContainer {
  /** Host PID of the init, which becomes the program's PID on start. */
  pid: number;
  /**
   * What the init did differently from the spec without failing, for the caller to surface: e.g.
   * an ambient capability not in both the permitted and inheritable sets, skipped as runc does.
   */
  warnings: string[];
  /** Lets the init execve the program; resolves once it has. On failure the init is killed. */
  start(): Promise<LaunchedContainer>;
  /** Kills the waiting init and waits for it (no-op after start). */
  abort(): Promise<void>;
  /** Settles when the init (or the program it became) exits. */
  exited: Promise<ContainerExit>;
}

export interface LauncherOptions {
  /** Idle inits kept warm per namespace set (default 1; 0 disables the pool). */
  poolSize?: number;
}

interface InitHandle {
  id: number;
  /** The pool it belongs to (see poolKey). */
  key: string;
  init: InitTracker;
  inUse: boolean;
  /** Not kept in the pool: born in a joined pid namespace (a launcher fd of it, until prepared). */
  joinPidFd?: number;
  /** With a user namespace: this end of the socket its fds are sent on (the init cannot take them). */
  channel?: number;
  /** The init's end of that socket, open until the worker has spawned. */
  channelInitEnd?: number;
  /** A kill was asked for before nsspawn handed the init over (see killInit). */
  killed?: boolean;
}

/** How an init is born: the namespaces the worker unshares, and nsspawn's part for a user namespace. */
interface SpawnShape {
  flags: number;
  /** Launcher fd of a pid namespace to be born in (no user namespace). */
  joinPidFd?: number;
  /** With a user namespace (new or joined): nsspawn's plan, channelFd still to fill in. */
  nsspawn?: Omit<NsspawnPlan, "channelFd">;
}

/** Idle inits are interchangeable within a key: same namespaces to unshare, same id maps. */
function poolKey(shape: SpawnShape): string {
  const u = shape.nsspawn?.newUser;
  return u === undefined ? String(shape.flags) : `${shape.flags}\n${u.uidMap}\n${u.gidMap}`;
}

/**
 * Namespaces the worker unshares before spawning an init for this spec. Joined ones are not (the
 * init joins net/uts/ipc by path itself, the worker enters a joined pid namespace), cgroup is the
 * init's job, and a user namespace is nsspawn's (see nsspawnPlan).
 */
export function spawnFlags(spec: ContainerSpec): number {
  let flags = 0;
  for (const ns of spec.linux?.namespaces ?? []) if (ns.path === undefined && ns.type !== "cgroup" && ns.type !== "user") flags |= cloneFlag(ns.type);
  return flags;
}

/**
 * nsspawn's part for a spec with a user namespace: it joins every namespace given by path, a joined
 * user namespace first (runc's order: what the others are owned by), the rest before a new user
 * namespace (they are the host's); then makes the new ones, owned by the container's.
 */
function nsspawnPlan(spec: ContainerSpec, flags: number, joined: Partial<Record<OciNamespaceType, number>>): SpawnShape["nsspawn"] {
  const user = spec.linux?.namespaces?.find((n) => n.type === "user");
  if (user === undefined) return undefined;
  const joins = (Object.entries(joined) as Array<[OciNamespaceType, number]>).map(([type, fd]) => ({ flags: cloneFlag(type), fd }));
  joins.sort((a, b) => Number(b.flags === CLONE_NEWUSER) - Number(a.flags === CLONE_NEWUSER));
  const uid = spec.linux?.uidMappings;
  const gid = spec.linux?.gidMappings;
  const plan: NonNullable<SpawnShape["nsspawn"]> = { joins, unshare: flags };
  if (user.path === undefined && uid !== undefined && gid !== undefined) plan.newUser = { uidMap: idMapText(uid), gidMap: idMapText(gid) };
  return plan;
}

/**
 * The detached ID-mapped trees of the spec's "idmap"/"ridmap" bind mounts, by mount index: mapped
 * with the mount's own mappings, or with the init's user namespace (the container's).
 */
async function idmappedMountTrees(spec: ContainerSpec, initPid: number): Promise<Record<number, number>> {
  const out: Record<number, number> = {};
  try {
    for (const [i, m] of (spec.mounts ?? []).entries()) {
      const mode = m.options?.find((o) => o === "idmap" || o === "ridmap");
      if (mode === undefined || m.source === undefined) continue;
      const userns = m.uidMappings !== undefined && m.gidMappings !== undefined ? await openUserNamespace(m.uidMappings, m.gidMappings) : libc.openReadOnly(`/proc/${initPid}/ns/user`);
      try {
        out[i] = idmappedTree(m.source, userns, `mounts[${i}].source`, mode === "ridmap");
      } finally {
        closeSync(userns);
      }
    }
  } catch (err) {
    for (const fd of Object.values(out)) closeSync(fd);
    throw err;
  }
  return out;
}

/**
 * Limits the kernel checks against the host's user namespace, set on the init from here: a process
 * in a user namespace may not lower its oom_score_adj nor raise a hard rlimit. Hard limits are only
 * raised here (the init sets the exact values late, as they would constrain it too).
 */
function applyHostLimits(pid: number, spec: ContainerSpec): void {
  const adj = spec.process.oomScoreAdj;
  try {
    if (adj !== undefined) writeFileSync(`/proc/${pid}/oom_score_adj`, String(adj));
  } catch (err) {
    // EACCES: lowering it takes CAP_SYS_RESOURCE, which this process lacks too (runc fails the same way).
    throw SysError.fromNode(err, `process.oomScoreAdj ${adj}: write /proc/${pid}/oom_score_adj`);
  }
  for (const r of spec.process.rlimits ?? []) {
    const resource = RLIMITS[r.type];
    if (resource === undefined) continue;
    const now = libc.prlimit(pid, resource);
    if (r.hard > now.hard) libc.prlimit(pid, resource, { soft: now.soft, hard: r.hard });
  }
}

/** Opens every namespace the spec joins by path, here in the launcher's (the host's) mount namespace. */
function openJoinedNamespaces(spec: ContainerSpec): Partial<Record<OciNamespaceType, number>> {
  const out: Partial<Record<OciNamespaceType, number>> = {};
  try {
    (spec.linux?.namespaces ?? []).forEach((ns, i) => {
      if (ns.path === undefined) return;
      try {
        out[ns.type] = openSync(ns.path, "r");
      } catch (err) {
        if (hasCode(err, "ENOENT")) throw new ValidationError(`linux.namespaces[${i}].path`, `'${ns.path}' does not exist`, "create the namespace (or its pin) first");
        throw SysError.fromNode(err, `open ${ns.type} namespace ${ns.path}`);
      }
    });
  } catch (err) {
    for (const fd of Object.values(out)) closeSync(fd);
    throw err;
  }
  return out;
}

/** Starts containers from a pool of pre-warmed inits. Call close() when done. */
export class Launcher {
  private readonly worker: Worker;
  private poolSize: number;
  private readonly inits = new Map<number, InitHandle>();
  private readonly idle = new Map<string, InitHandle[]>();
  private nextId = 1;
  private closed = false;

  constructor(options: LauncherOptions = {}) {
    this.poolSize = options.poolSize ?? 1;
    const data: SpawnWorkerData = { initPath: INIT_ENTRY_PATH, execArgv: [] };
    this.worker = new Worker(join(__dirname, "spawnWorker.js"), { workerData: data });
    // Idle inits exit on their own when this process goes away (EOF on their socket).
    this.worker.unref();
    this.worker.on("message", (ev: WorkerEvent) => this.onEvent(ev));
    this.worker.on("error", (err) => {
      // The worker's inits lose their event relay with it.
      for (const h of this.inits.values()) h.init.handle({ op: "lost", error: err });
    });
  }

  /** Fills the pool for the given namespace flags (default: pid|mnt|uts|ipc|net) and waits until every idle init is ready. */
  async warm(flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET): Promise<void> {
    await this.warmShape({ flags });
  }

  /**
   * Fills the pool with inits for containers like `spec` (its namespaces, and a user namespace with
   * its mappings) and waits until they are ready. A spec that joins namespaces by path has no pool.
   */
  async warmFor(input: ContainerSpec): Promise<void> {
    const spec = validateSpec(input);
    if (spec.linux?.namespaces?.some((n) => n.path !== undefined) === true) return;
    const flags = spawnFlags(spec);
    const nsspawn = nsspawnPlan(spec, flags, {});
    await this.warmShape(nsspawn === undefined ? { flags } : { flags, nsspawn });
  }

  private async warmShape(shape: SpawnShape): Promise<void> {
    this.refill(shape);
    await Promise.all((this.idle.get(poolKey(shape)) ?? []).map((h) => h.init.ready));
  }

  /**
   * Starts a container: prepare() then start(). On any failure the init is killed; its mounts
   * lived in its own mount namespace and die with it.
   */
  async launch(input: ContainerSpec | unknown, options: LaunchOptions = {}): Promise<LaunchedContainer> {
    const prepared = await this.prepare(input, options);
    return prepared.start();
  }

  /**
   * The first half of launch() (OCI "create"): takes a warm init (or spawns one), lets onCgroup
   * place it, sends the spec and resolves once the init has built the container and waits: every
   * setup error (mount, pivot_root, user, program not found, ...) is thrown here, with the init
   * killed. start() lets it exec; abort() kills it. The stdio fds in options are copied by the
   * init here: they may be closed once prepare() settles.
   */
  async prepare(input: ContainerSpec | unknown, options: LaunchOptions = {}): Promise<PreparedContainer> {
    if (this.closed) throw new HostformError("launcher is closed");
    const spec = validateSpec(input);
    const rootPath = isAbsolute(spec.root.path) ? spec.root.path : resolve(options.bundle ?? process.cwd(), spec.root.path);
    try {
      if (!statSync(rootPath).isDirectory()) throw new ValidationError("root.path", `'${rootPath}' is not a directory`);
    } catch (err) {
      if (err instanceof ValidationError) throw err;
      if (hasCode(err, "ENOENT")) throw new ValidationError("root.path", `'${rootPath}' does not exist`, "point it at an unpacked root filesystem");
      throw SysError.fromNode(err, "root.path");
    }
    spec.root.path = rootPath;
    if (spec.linux?.seccomp !== undefined && options.seccompFilter === undefined) {
      throw new ValidationError("linux.seccomp", "needs a compiled filter", "compile it with src/seccomp and pass seccompFilter");
    }
    if (spec.process.terminal === true && options.consoleSocket === undefined) {
      throw new ValidationError("process.terminal", "needs a console socket to send the terminal's master to (runc: cannot allocate tty if runc will detach without setting console socket)", "pass consoleSocket (--console-socket), or set process.terminal to false");
    }
    if (spec.process.terminal !== true && options.consoleSocket !== undefined) {
      throw new ValidationError("consoleSocket", "is only used with process.terminal (runc: cannot use console socket if runc will not detach or allocate tty)", "set process.terminal to true, or pass no console socket");
    }
    const stdio = (options.stdio ?? ["ignore", "ignore", "ignore"]).map((c, i) => (c === "inherit" ? i : c === "ignore" ? null : c)) as PrepareRequest["stdio"];
    const req: PrepareRequest = { kind: "prepare", spec, stdio };
    if (options.consoleSocket !== undefined) req.consoleSocket = options.consoleSocket;
    if (options.seccompFilter !== undefined) req.seccompBpf = options.seccompFilter.toString("base64");
    if (options.startFifo !== undefined) req.startFifo = options.startFifo;
    if (options.hookState !== undefined) req.hookState = options.hookState;
    if (options.onRuntimeHooks !== undefined) req.runtimeHooks = true;
    if (options.extraFds !== undefined && options.extraFds.length > 0) req.extraFds = [...options.extraFds];

    const joined = openJoinedNamespaces(spec);
    const closeJoined = () => {
      for (const fd of Object.values(joined)) closeSync(fd);
    };
    const flags = spawnFlags(spec);
    const nsspawn = nsspawnPlan(spec, flags, joined);
    const shape: SpawnShape = { flags };
    if (nsspawn !== undefined) {
      try {
        assertInitReachable("linux.namespaces (user)");
      } catch (err) {
        closeJoined();
        throw err;
      }
      // nsspawn joins them all before the init exists: from inside a user namespace the host's could not be joined.
      shape.nsspawn = nsspawn;
    } else {
      const { pid: joinPidFd, ...joinFds } = joined;
      if (Object.keys(joinFds).length > 0) req.joinFds = joinFds;
      if (joinPidFd !== undefined) shape.joinPidFd = joinPidFd;
    }
    // An init born in joined namespaces is made for this container only: no pool to take from or refill.
    const pooled = shape.joinPidFd === undefined && (nsspawn === undefined || nsspawn.joins.length === 0);
    let h: InitHandle;
    try {
      h = pooled ? this.take(shape) : this.spawn(shape);
    } catch (err) {
      closeJoined();
      throw err;
    }
    h.inUse = true;
    let pidfd = -1;
    const trees: number[] = [];
    const refill = () => {
      if (pooled) this.refill(shape);
    };
    const init = h.init;
    const kill = async (): Promise<void> => {
      refill();
      this.killInit(h, "SIGKILL");
      await init.exited;
      if (pidfd >= 0) closeSync(pidfd);
      pidfd = -1;
    };
    const fail = async (err: unknown): Promise<never> => {
      await kill();
      throw err;
    };
    try {
      await init.ready;
      pidfd = libc.pidfdOpen(init.pid);
      if (options.onCgroup !== undefined) await options.onCgroup(init.pid);
      applyHostLimits(init.pid, spec);
      const idmapFds = await idmappedMountTrees(spec, init.pid);
      trees.push(...Object.values(idmapFds));
      if (trees.length > 0) req.idmapFds = idmapFds;
      let hookFailure: unknown;
      const runtimeHooks = options.onRuntimeHooks;
      if (runtimeHooks !== undefined) {
        init.onRuntimeHooks = () => {
          void (async () => runtimeHooks(init.pid))().then(
            () => this.send({ op: "start", id: h.id, line: '{"kind":"continue"}\n' }),
            (err: unknown) => {
              hookFailure = err;
              this.killInit(h, "SIGKILL");
            },
          );
        };
      }
      if (h.channel !== undefined) sendRequestFds(h.channel, req);
      this.send({ op: "start", id: h.id, line: `${JSON.stringify(req)}\n` });
      await init.prepared.catch((err: unknown) => {
        throw hookFailure ?? err;
      });
    } catch (err) {
      return fail(err);
    } finally {
      // The init has copied (or, dead, no longer needs) the namespace fds and the mapped trees.
      closeJoined();
      for (const fd of trees) closeSync(fd);
    }
    let state: "created" | "starting" | "done" = "created";
    return {
      pid: init.pid,
      warnings: init.warnings,
      exited: init.exited,
      start: async () => {
        if (state !== "created") throw new HostformError(`container init ${init.pid} was already started or aborted`);
        state = "starting";
        try {
          this.send({ op: "start", id: h.id, line: '{"kind":"start"}\n' });
          await init.started;
        } catch (err) {
          state = "done";
          return fail(err);
        }
        state = "done";
        // Refilled only now: a Node start-up competing for the CPU would slow this very launch.
        refill();
        const fd = pidfd;
        const exited = init.exited.finally(() => closeSync(fd));
        return { pid: init.pid, pidfd: fd, exited, warnings: init.warnings };
      },
      abort: async () => {
        if (state !== "created") return;
        state = "done";
        await kill();
      },
    };
  }

  /** Changes how many idle inits are kept per namespace set; lowering it kills the surplus now. */
  setPoolSize(size: number): void {
    this.poolSize = size;
    for (const list of this.idle.values()) {
      while (list.length > size) this.killInit(list.pop()!, "SIGKILL");
    }
  }

  /** Idle inits currently kept (ready or starting up). */
  idleCount(): number {
    let n = 0;
    for (const list of this.idle.values()) n += list.length;
    return n;
  }

  /** Kills idle inits and, unless told otherwise, running containers; stops the worker. */
  async close(options: { killRunning?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const waits: Promise<unknown>[] = [];
    for (const h of this.inits.values()) {
      if (h.inUse && options.killRunning === false) continue;
      this.killInit(h, "SIGKILL");
      waits.push(h.init.exited);
    }
    await Promise.all(waits);
    await this.worker.terminate();
  }

  private send(req: WorkerRequest): void {
    this.worker.postMessage(req);
  }

  private take(shape: SpawnShape): InitHandle {
    const list = this.idle.get(poolKey(shape)) ?? [];
    const h = list.shift() ?? this.spawn(shape);
    h.inUse = true;
    return h;
  }

  private refill(shape: SpawnShape): void {
    if (this.closed) return;
    const key = poolKey(shape);
    const list = this.idle.get(key) ?? [];
    this.idle.set(key, list);
    while (list.length < this.poolSize) list.push(this.spawn(shape));
  }

  private spawn(shape: SpawnShape): InitHandle {
    const id = this.nextId++;
    const init = new InitTracker({ name: "container init", spawnContext: "spawn container init" });
    const h: InitHandle = { id, key: poolKey(shape), init, inUse: false };
    this.inits.set(id, h);
    const { flags, joinPidFd, nsspawn } = shape;
    if (nsspawn !== undefined) {
      [h.channel, h.channelInitEnd] = socketPair();
      this.send({ op: "spawn", id, flags, nsspawn: { ...nsspawn, channelFd: h.channelInitEnd } });
    } else if (joinPidFd !== undefined) {
      h.joinPidFd = joinPidFd;
      this.send({ op: "spawn", id, flags, joinPidFd });
    } else {
      this.send({ op: "spawn", id, flags });
    }
    return h;
  }

  /** Signals an init: through its pidfd once adopted, else through the worker (which reaches nsspawn before the hand-over). */
  private killInit(h: InitHandle, signal: NodeJS.Signals): void {
    const adopted = h.init.adoptedChild;
    if (adopted !== undefined) {
      adopted.signal(signalNumber(signal));
      return;
    }
    h.killed = true;
    this.send({ op: "kill", id: h.id, signal });
  }

  private onEvent(ev: WorkerEvent): void {
    const h = this.inits.get(ev.id);
    if (h === undefined) return;
    if ((ev.op === "spawned" || ev.op === "spawnFailed") && h.channelInitEnd !== undefined) {
      // The worker has spawned (or failed to): the helper holds its own copy now.
      closeSync(h.channelInitEnd);
      delete h.channelInitEnd;
    }
    h.init.handle(ev);
    const adopted = h.init.adoptedChild;
    if (ev.op === "spawned" && adopted !== undefined) {
      void adopted.exited.then(() => this.forget(ev.id));
      // Killed while nsspawn still had it: the kill reached only the helper.
      if (h.killed === true) adopted.signal(signalNumber("SIGKILL"));
    }
    if (ev.op === "exit" || ev.op === "spawnFailed") this.forget(ev.id);
  }

  private forget(id: number): void {
    const h = this.inits.get(id);
    this.inits.delete(id);
    if (h === undefined) return;
    if (h.channel !== undefined) closeSync(h.channel);
    delete h.channel;
    const list = this.idle.get(h.key) ?? [];
    const i = list.indexOf(h);
    if (i >= 0) list.splice(i, 1);
  }
}

// The client side of the container lifecycle: every call is one request to the run dir's
// supervisor, started on demand. The seccomp filter is compiled here, in the caller's process, so
// the long-lived supervisor never loads libseccomp.
import { connect } from "node:net";
import { HostformError, SysError, errorFromWire } from "../sys/errors";
import { runDir } from "../sys/paths";
import { compileProfile } from "../seccomp/compile";
import { loadProfile } from "../seccomp/validate";
import { DOCKER_DEFAULT_PROFILE } from "../seccomp/validate";
import { validateSpec } from "./spec";
import { ensureSupervisor } from "./supervisorStart";
import {
  supervisorSocketPath, type CreateOptions, type SupervisorRequest, type SupervisorResponse, type SupervisorResults, type UpdateOptions, type WaitResult,
} from "./socketProtocol";
import type { ContainerState } from "./state";
import { isPidAlive } from "../sys/pidAlive";

export type { ContainerState } from "./state";
export type { WaitResult, CreateOptions, UpdateOptions } from "./socketProtocol";

/** Options of RuntimeClient.create. */
export interface ClientCreateOptions extends Omit<CreateOptions, "seccompBpf"> {
  /**
   * The seccomp filter: compiled BPF, a profile (object, JSON file path or "docker-default") or
   * "none". Default: the spec's linux.seccomp if set, else Docker's default profile, compiled for
   * the container's bounding capabilities.
   */
  seccomp?: Buffer | object | string;
}

export interface RuntimeClientOptions {
  /** Run dir of the supervisor (default runDir(), i.e. HOSTFORM_RUN_DIR or /run/hostform). */
  runDir?: string;
}

/**
 * Docker's default filter by bounding set. Most containers take it, and loading the profile and
 * digesting it for the compiler's cache costs ~5 ms a container: a stack of 50 pays it once per set.
 */
const defaultFilters = new Map<string, Buffer>();

/** Compiles the filter a container gets; undefined means none. */
export function compileContainerFilter(spec: unknown, choice: ClientCreateOptions["seccomp"]): Buffer | undefined {
  if (Buffer.isBuffer(choice)) return choice;
  if (choice === "none") return undefined;
  const s = validateSpec(spec);
  const caps = s.process.capabilities?.bounding ?? [];
  const source: object | string = choice ?? (s.linux?.seccomp as object | undefined) ?? DOCKER_DEFAULT_PROFILE;
  if (source !== DOCKER_DEFAULT_PROFILE) return compileProfile(loadProfile(source), { caps }).bpf;
  const key = [...caps].sort().join(",");
  let bpf = defaultFilters.get(key);
  if (bpf === undefined) {
    bpf = compileProfile(loadProfile(source), { caps }).bpf;
    if (defaultFilters.size >= 16) defaultFilters.clear();
    defaultFilters.set(key, bpf);
  }
  return Buffer.from(bpf);
}

/** Supervisor starts in flight in this process, by run dir. */
const starting = new Map<string, Promise<void>>();

/**
 * Concurrent requests that find no supervisor share one start: each would otherwise spawn a
 * supervisor of its own (a full Node start-up, ~1 s of CPU) only for all but one to lose the lock.
 */
function startSupervisorOnce(dir: string): Promise<void> {
  let p = starting.get(dir);
  if (p === undefined) {
    p = ensureSupervisor(dir).finally(() => starting.delete(dir));
    starting.set(dir, p);
  }
  return p;
}

/** Talks to the supervisor of one run dir. */
export class RuntimeClient {
  readonly runDir: string;

  constructor(options: RuntimeClientOptions = {}) {
    this.runDir = options.runDir ?? runDir();
  }

  /** Sends one request, starting the supervisor if none answers. */
  async request<K extends SupervisorRequest["op"]>(req: Extract<SupervisorRequest, { op: K }>): Promise<SupervisorResults[K]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.send(req)) as SupervisorResults[K];
      } catch (err) {
        // No socket, or one that a supervisor exiting for idleness just closed: start a new one.
        const retry = attempt < 3 && err instanceof NotAnswered;
        if (!retry) throw err;
        await startSupervisorOnce(this.runDir);
      }
    }
  }

  private send(req: SupervisorRequest): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const sock = connect(supervisorSocketPath(this.runDir));
      let buf = "";
      let connected = false;
      sock.setEncoding("utf8");
      sock.once("connect", () => {
        connected = true;
        sock.write(`${JSON.stringify(req)}\n`);
      });
      sock.on("data", (chunk: string) => {
        buf += chunk;
      });
      sock.once("error", (err: NodeJS.ErrnoException) => {
        if (!connected || (buf === "" && err.code === "ECONNRESET")) reject(new NotAnswered(err.message));
        else reject(SysError.fromNode(err, "talk to the supervisor"));
      });
      sock.once("close", () => {
        const line = buf.split("\n")[0] ?? "";
        if (line === "") {
          if (connected) reject(new NotAnswered("the supervisor closed the connection without answering"));
          return;
        }
        let res: SupervisorResponse;
        try {
          res = JSON.parse(line) as SupervisorResponse;
        } catch (err) {
          reject(new HostformError(`the supervisor sent a bad answer: ${line.slice(0, 200)}`, { cause: err }));
          return;
        }
        if (res.ok) resolve(res.result);
        else reject(errorFromWire(res.error));
      });
    });
  }

  /** Creates a container: cgroup made, init placed and waiting (status "created"). */
  async create(id: string, spec: unknown, options: ClientCreateOptions = {}): Promise<ContainerState> {
    const { seccomp, ...rest } = options;
    const bpf = compileContainerFilter(spec, seccomp);
    const o: CreateOptions = { ...rest, seccompBpf: bpf === undefined ? "none" : bpf.toString("base64") };
    return this.request({ op: "create", id, spec, options: o });
  }

  /** Starts the program of a created container. */
  start(id: string): Promise<ContainerState> {
    return this.request({ op: "start", id });
  }

  state(id: string): Promise<ContainerState> {
    return this.request({ op: "state", id });
  }

  /** The containers whose state the supervisor could read; listAll() also gives the others. */
  async list(): Promise<ContainerState[]> {
    return (await this.listAll()).containers;
  }

  /**
   * Every container: those with a readable state, and those whose state file the supervisor could
   * not read, each with its typed error (CorruptFileError naming the file, or a SysError).
   */
  async listAll(): Promise<{ containers: ContainerState[]; unreadable: Array<{ id: string; error: HostformError }> }> {
    const r = await this.request({ op: "list" });
    return { containers: r.containers, unreadable: r.unreadable.map((u) => ({ id: u.id, error: errorFromWire(u.error) })) };
  }

  /** Sends a signal (name or number) to the container's PID 1. */
  kill(id: string, signal: string | number = "SIGTERM"): Promise<ContainerState> {
    return this.request({ op: "kill", id, signal: String(signal) });
  }

  /** The declared stop signal, then after `timeout` seconds SIGKILL to every process in the cgroup. */
  stop(id: string, timeout?: number): Promise<ContainerState> {
    return this.request(timeout === undefined ? { op: "stop", id } : { op: "stop", id, timeout });
  }

  /** Removes cgroup, state and logs; a running container needs force (it is killed first). */
  async delete(id: string, options: { force?: boolean } = {}): Promise<void> {
    await this.request({ op: "delete", id, force: options.force === true });
  }

  /**
   * Changes restart policy, stop signal and stop timeout in place: the process keeps running (same
   * pid) and the supervisor follows the new values from the next exit or stop on. Bad values fail
   * with a ValidationError naming the field, and then nothing changes.
   */
  update(id: string, changes: UpdateOptions): Promise<ContainerState> {
    return this.request({ op: "update", id, ...changes });
  }

  /** Resolves when the container has stopped for good (no restart pending). */
  wait(id: string): Promise<WaitResult> {
    return this.request({ op: "wait", id });
  }

  /** The supervisor's pid (starting it if needed). */
  async supervisorPid(): Promise<number> {
    return (await this.request({ op: "ping" })).pid;
  }

  /**
   * Asks the supervisor to exit, leaving containers running; resolves with its pid once it has, or
   * undefined when none runs (nothing happens then).
   */
  async shutdownSupervisor(): Promise<number | undefined> {
    let pid: number;
    try {
      pid = ((await this.send({ op: "shutdown" })) as SupervisorResults["shutdown"]).pid;
    } catch (err) {
      if (!(err instanceof NotAnswered)) throw err;
      return undefined;
    }
    // It answers before it exits: wait for the exit, so that a caller removing the run dir next does
    // not race its last writes (the warm inits' compile cache) into a directory made again.
    const deadline = Date.now() + 10_000;
    while (isPidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return pid;
  }
}


/** The supervisor did not answer at all (no socket, refused, closed before answering). */
class NotAnswered extends HostformError {}

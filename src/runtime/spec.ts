// The container spec: the subset of the OCI runtime-spec config.json (opencontainers/runtime-spec)
// that hostform implements. A field we do not implement is rejected with the field's name, never
// ignored: a config that asks for a user namespace and silently runs without one is a security bug.
import { isAbsolute } from "node:path";
import { ValidationError } from "../sys/errors";
import { CAPABILITIES, RLIMITS } from "../sys/constants";
import { ROOTFS_PROPAGATIONS, type RootfsPropagation } from "./init/rootPropagation";
import { MOUNT_OPTION_NAMES } from "./init/mountOptions";
import { OCI_NAMESPACE_TYPES, isOciNamespaceType, type OciNamespaceType } from "../sys/namespaces";
import { validateDeviceSpecs, type DeviceSpec } from "./specDevices";
import { validateHooks, type HooksSpec } from "./specHooks";
import { userNamespacePlan, validateIdMappings, type IdMapping } from "./specUserNamespace";

export type { HookPhase, HookSpec, HooksSpec } from "./specHooks";

/** process.user */
export interface UserSpec {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
}

/** process.capabilities: CAP_* names per set. */
export interface CapabilitiesSpec {
  bounding?: string[];
  effective?: string[];
  permitted?: string[];
  inheritable?: string[];
  ambient?: string[];
}

/** One entry of process.rlimits. */
export interface RlimitSpec {
  type: string;
  soft: number;
  hard: number;
}

export interface ProcessSpec {
  /**
   * A pty of the container's devpts as fds 0-2 and controlling terminal; its master goes to the
   * caller over a console socket (LaunchOptions.consoleSocket), as with runc --console-socket.
   */
  terminal?: boolean;
  /** Initial size of that terminal, in character cells. */
  consoleSize?: ConsoleSize;
  user: UserSpec;
  args: string[];
  env?: string[];
  cwd: string;
  capabilities?: CapabilitiesSpec;
  rlimits?: RlimitSpec[];
  noNewPrivileges?: boolean;
  /** Written to the container process's /proc/<pid>/oom_score_adj (-1000..1000), as runc does. */
  oomScoreAdj?: number;
}

export interface ConsoleSize {
  height: number;
  width: number;
}

export interface RootSpec {
  /** Absolute, or relative to the bundle directory. */
  path: string;
  readonly?: boolean;
}

export interface MountSpec {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
  /** With an "idmap"/"ridmap" bind mount (runtime-spec 1.2): its own mapping, else the container's user namespace's. */
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
}

export interface NamespaceSpec {
  /** "time" is rejected for now. A "user" one is made (or joined) by nsspawn, for the launcher. */
  type: OciNamespaceType;
  /** Join this namespace (an nsfs file) instead of creating a new one. */
  path?: string;
}

export interface LinuxSpec {
  namespaces?: NamespaceSpec[];
  /** With a new "user" namespace (required then): the container's uids on the host. */
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  maskedPaths?: string[];
  readonlyPaths?: string[];
  sysctl?: Record<string, string>;
  /** The OCI seccomp object; compiled by src/seccomp, opaque here. */
  seccomp?: unknown;
  cgroupsPath?: string;
  /** How the container's mounts stay linked with the host's (default rprivate: not at all). */
  rootfsPropagation?: RootfsPropagation;
  /** linux.resources; applied by src/cgroup, opaque here. */
  resources?: unknown;
  /** Device nodes created in the container (allowed only by resources.devices, as in runc). */
  devices?: DeviceSpec[];
}

/** The internal container spec: an OCI runtime-spec config.json restricted to what hostform implements. */
export interface ContainerSpec {
  ociVersion: string;
  process: ProcessSpec;
  root: RootSpec;
  hostname?: string;
  mounts?: MountSpec[];
  linux?: LinuxSpec;
  annotations?: Record<string, string>;
  /** Run by the OCI CLI (runtime phases) and the init (createContainer, startContainer). */
  hooks?: HooksSpec;
}


/** Namespaces the kernel only lets a root-owned sysctl write under when the container owns them. */
const NAMESPACED_SYSCTL_PREFIXES = ["net.", "fs.mqueue.", "kernel.msg", "kernel.sem", "kernel.shm"];
const NAMESPACED_SYSCTLS = new Set(["kernel.domainname", "kernel.hostname", "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"]);

/** Mount types the init knows how to mount. */
const MOUNT_TYPES = new Set(["bind", "proc", "tmpfs", "devpts", "mqueue", "sysfs", "cgroup", "cgroup2"]);

/** Options the init consumes itself (mount flags, propagation, the recursive r* ones, runc's tmpcopyup); anything else is passed as fs data. */
export const MOUNT_FLAG_OPTIONS: ReadonlySet<string> = new Set(MOUNT_OPTION_NAMES);

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Refuses the spec fields hostform knows but does not honour (`why` says why), by name. Properties
 * the runtime-spec does not define are ignored: "implementations MUST ignore unknown properties"
 * (config.md), as runc and crun do, so a newer engine's additions never break a create.
 */
function rejectUnsupported(obj: Json, field: string, why: Record<string, string>): void {
  for (const key of Object.keys(obj)) {
    const reason = why[key];
    if (reason === undefined) continue;
    throw new ValidationError(field === "" ? key : `${field}.${key}`, reason, "remove the field");
  }
}

function requireString(v: unknown, field: string): string {
  if (typeof v !== "string" || v === "") throw new ValidationError(field, `must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

function requireStringArray(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw new ValidationError(field, "must be an array of strings");
  return v as string[];
}

function requireId(v: unknown, field: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xfffffffe) {
    throw new ValidationError(field, `must be an integer id between 0 and 4294967294, got ${JSON.stringify(v)}`);
  }
  return v;
}

function requireAbsolute(v: unknown, field: string): string {
  const s = requireString(v, field);
  if (!isAbsolute(s)) throw new ValidationError(field, `'${s}' is not an absolute path`, "start it with /");
  return s;
}

function validateCapabilities(v: unknown): CapabilitiesSpec {
  if (!isObject(v)) throw new ValidationError("process.capabilities", "must be an object");
  const out: CapabilitiesSpec = {};
  for (const set of ["bounding", "effective", "permitted", "inheritable", "ambient"] as const) {
    if (v[set] === undefined) continue;
    const names = requireStringArray(v[set], `process.capabilities.${set}`);
    for (const name of names) {
      if (CAPABILITIES[name] === undefined) {
        throw new ValidationError(`process.capabilities.${set}`, `unknown capability '${name}'`, "use CAP_* names such as CAP_NET_BIND_SERVICE");
      }
    }
    out[set] = names;
  }
  return out;
}

function validateConsoleSize(v: unknown): ConsoleSize {
  if (!isObject(v)) throw new ValidationError("process.consoleSize", "must be an object with height and width", '{"height": 24, "width": 80}');
  const size = { height: v.height, width: v.width };
  for (const k of ["height", "width"] as const) {
    const n = size[k];
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 0xffff) throw new ValidationError(`process.consoleSize.${k}`, "must be an integer between 0 and 65535");
  }
  return { height: size.height as number, width: size.width as number };
}

function validateProcess(v: unknown): ProcessSpec {
  if (!isObject(v)) throw new ValidationError("process", "is required and must be an object");
  rejectUnsupported(v, "process", {
    apparmorProfile: "AppArmor is not supported",
    selinuxLabel: "SELinux is not supported",
    commandLine: "is a Windows field",
    ioPriority: "is not supported yet",
    scheduler: "is not supported yet",
    execCPUAffinity: "is not supported yet",
  });
  if (v.terminal !== undefined && typeof v.terminal !== "boolean") throw new ValidationError("process.terminal", "must be a boolean");
  if (!isObject(v.user)) throw new ValidationError("process.user", "is required and must be an object", 'use {"uid": 0, "gid": 0}');
  rejectUnsupported(v.user, "process.user", { username: "is a Windows field" });
  const user: UserSpec = { uid: requireId(v.user.uid, "process.user.uid"), gid: requireId(v.user.gid, "process.user.gid") };
  if (v.user.additionalGids !== undefined) {
    if (!Array.isArray(v.user.additionalGids)) throw new ValidationError("process.user.additionalGids", "must be an array of gids");
    user.additionalGids = v.user.additionalGids.map((g, i) => requireId(g, `process.user.additionalGids[${i}]`));
  }
  if (v.user.umask !== undefined) {
    const m = v.user.umask;
    if (typeof m !== "number" || !Number.isInteger(m) || m < 0 || m > 0o777) throw new ValidationError("process.user.umask", "must be an integer between 0 and 0o777");
    user.umask = m;
  }
  const args = requireStringArray(v.args, "process.args");
  if (args.length === 0 || args[0] === "") throw new ValidationError("process.args", "must name the program to run", 'e.g. ["/bin/sh", "-c", "..."]');
  const out: ProcessSpec = { terminal: v.terminal === true, user, args, cwd: requireAbsolute(v.cwd, "process.cwd") };
  if (v.consoleSize !== undefined) out.consoleSize = validateConsoleSize(v.consoleSize);
  if (v.env !== undefined) {
    const env = requireStringArray(v.env, "process.env");
    env.forEach((e, i) => {
      if (!e.includes("=")) throw new ValidationError(`process.env[${i}]`, `'${e}' is not KEY=VALUE`);
    });
    out.env = env;
  }
  if (v.capabilities !== undefined) out.capabilities = validateCapabilities(v.capabilities);
  if (v.rlimits !== undefined) {
    if (!Array.isArray(v.rlimits)) throw new ValidationError("process.rlimits", "must be an array");
    out.rlimits = v.rlimits.map((r: unknown, i: number) => {
      const f = `process.rlimits[${i}]`;
      if (!isObject(r)) throw new ValidationError(f, "must be an object with type, soft and hard");
      const type = requireString(r.type, `${f}.type`);
      if (RLIMITS[type] === undefined) throw new ValidationError(`${f}.type`, `unknown rlimit '${type}'`, "use RLIMIT_* names such as RLIMIT_NOFILE");
      for (const k of ["soft", "hard"] as const) {
        if (typeof r[k] !== "number" || !Number.isInteger(r[k]) || (r[k] as number) < 0) throw new ValidationError(`${f}.${k}`, "must be a non-negative integer");
      }
      if ((r.soft as number) > (r.hard as number)) throw new ValidationError(`${f}.soft`, "is above the hard limit");
      return { type, soft: r.soft as number, hard: r.hard as number };
    });
  }
  if (v.noNewPrivileges !== undefined) {
    if (typeof v.noNewPrivileges !== "boolean") throw new ValidationError("process.noNewPrivileges", "must be a boolean");
    out.noNewPrivileges = v.noNewPrivileges;
  }
  if (v.oomScoreAdj !== undefined) {
    const o = v.oomScoreAdj;
    if (typeof o !== "number" || !Number.isInteger(o) || o < -1000 || o > 1000) throw new ValidationError("process.oomScoreAdj", `${JSON.stringify(o)} is not an integer from -1000 to 1000`);
    out.oomScoreAdj = o;
  }
  return out;
}

/** Checks one mount; errors name it as f ("mounts[2]" in config.json, the caller's own field otherwise). */
export function validateMount(v: unknown, f: string): MountSpec {
  if (!isObject(v)) throw new ValidationError(f, "must be an object");
  const m: MountSpec = { destination: requireAbsolute(v.destination, `${f}.destination`) };
  if (m.destination.split("/").includes("..")) throw new ValidationError(`${f}.destination`, "must not contain '..'");
  if (v.options !== undefined) m.options = requireStringArray(v.options, `${f}.options`);
  const isBind = m.options?.some((o) => o === "bind" || o === "rbind") ?? false;
  if (v.type !== undefined) m.type = requireString(v.type, `${f}.type`);
  if (v.source !== undefined) m.source = requireString(v.source, `${f}.source`);
  if ((m.type === "cgroup" || m.type === "cgroup2") && isBind) {
    throw new ValidationError(`${f}.options`, `a ${m.type} mount is not a bind mount`, "drop bind/rbind");
  }
  if (!isBind && (m.type === undefined || !MOUNT_TYPES.has(m.type))) {
    throw new ValidationError(`${f}.type`, `mount type '${m.type ?? ""}' is not supported`, `use one of ${[...MOUNT_TYPES].join(", ")} or a bind option`);
  }
  if (isBind || m.type === "bind") {
    if (m.source === undefined || !isAbsolute(m.source)) throw new ValidationError(`${f}.source`, "a bind mount needs an absolute host path as source");
  }
  const idmap = m.options?.some((o) => o === "idmap" || o === "ridmap") === true;
  if (v.uidMappings !== undefined || v.gidMappings !== undefined) {
    if (v.uidMappings === undefined || v.gidMappings === undefined) throw new ValidationError(`${f}.${v.uidMappings === undefined ? "uidMappings" : "gidMappings"}`, "is required with the other", "give both uidMappings and gidMappings, or neither");
    m.uidMappings = validateIdMappings(v.uidMappings, `${f}.uidMappings`);
    m.gidMappings = validateIdMappings(v.gidMappings, `${f}.gidMappings`);
    // runtime-spec 1.2: mappings make the mount an ID-mapped one; "idmap" is implied.
    if (!idmap) m.options = [...(m.options ?? []), "idmap"];
  }
  if ((idmap || m.uidMappings !== undefined) && !(isBind || m.type === "bind")) throw new ValidationError(`${f}.options`, "an ID-mapped mount must be a bind mount", "use type bind, or drop idmap/ridmap and the mappings");
  return m;
}

function validateLinux(v: unknown): LinuxSpec {
  if (!isObject(v)) throw new ValidationError("linux", "must be an object");
  rejectUnsupported(v, "linux", {
    mountLabel: "SELinux is not supported",
    intelRdt: "is not supported",
    personality: "is not supported yet",
    timeOffsets: "time namespaces are not supported",
    memoryPolicy: "is not supported yet",
    netDevices: "is not supported yet",
  });
  const out: LinuxSpec = {};
  if (v.rootfsPropagation !== undefined) {
    if (typeof v.rootfsPropagation !== "string" || !(v.rootfsPropagation in ROOTFS_PROPAGATIONS)) {
      throw new ValidationError("linux.rootfsPropagation", `'${String(v.rootfsPropagation)}' is not a propagation`, `use one of ${Object.keys(ROOTFS_PROPAGATIONS).join(", ")}`);
    }
    out.rootfsPropagation = v.rootfsPropagation as RootfsPropagation;
  }
  if (v.namespaces !== undefined) {
    if (!Array.isArray(v.namespaces)) throw new ValidationError("linux.namespaces", "must be an array");
    const seen = new Set<string>();
    out.namespaces = v.namespaces.map((n: unknown, i: number) => {
      const f = `linux.namespaces[${i}]`;
      if (!isObject(n)) throw new ValidationError(f, "must be an object with a type");
      const type = requireString(n.type, `${f}.type`);
      if (type === "time") throw new ValidationError(`${f}.type`, "time namespaces are not supported yet", "remove it");
      if (!isOciNamespaceType(type)) throw new ValidationError(`${f}.type`, `unknown namespace type '${type}'`, `use one of ${OCI_NAMESPACE_TYPES.join(", ")}`);
      if (seen.has(type)) throw new ValidationError(`${f}.type`, `'${type}' is listed twice`);
      seen.add(type);
      const ns: NamespaceSpec = { type };
      if (n.path !== undefined) {
        ns.path = requireAbsolute(n.path, `${f}.path`);
      }
      return ns;
    });
    // No "mount" (or no list at all) still gets a mount namespace of its own: the init builds the
    // root in a private copy whatever the spec says, where runc would mount in the host's and
    // leave those mounts behind. A joined one ("path") is copied the same way, its mounts kept.
  }
  const plan = userNamespacePlan(out.namespaces?.find((n) => n.type === "user"), v.uidMappings, v.gidMappings);
  if (plan?.kind === "new") {
    out.uidMappings = plan.uidMappings;
    out.gidMappings = plan.gidMappings;
  }
  if (v.maskedPaths !== undefined) out.maskedPaths = requireStringArray(v.maskedPaths, "linux.maskedPaths").map((p, i) => requireAbsolute(p, `linux.maskedPaths[${i}]`));
  if (v.readonlyPaths !== undefined) out.readonlyPaths = requireStringArray(v.readonlyPaths, "linux.readonlyPaths").map((p, i) => requireAbsolute(p, `linux.readonlyPaths[${i}]`));
  if (v.sysctl !== undefined) {
    if (!isObject(v.sysctl)) throw new ValidationError("linux.sysctl", "must be an object of name: value");
    const sysctl: Record<string, string> = {};
    for (const [k, val] of Object.entries(v.sysctl)) {
      if (typeof val !== "string") throw new ValidationError(`linux.sysctl.${k}`, "must be a string");
      if (!NAMESPACED_SYSCTLS.has(k) && !NAMESPACED_SYSCTL_PREFIXES.some((p) => k.startsWith(p))) {
        throw new ValidationError(`linux.sysctl.${k}`, "is not a namespaced sysctl: setting it would change the host", "only net.*, kernel.msg*/sem/shm*, fs.mqueue.* are allowed");
      }
      if (k.includes("/") || k.includes("..")) throw new ValidationError(`linux.sysctl.${k}`, "is not a sysctl name");
      sysctl[k] = val;
    }
    out.sysctl = sysctl;
  }
  if (v.seccomp !== undefined) out.seccomp = v.seccomp;
  if (v.cgroupsPath !== undefined) out.cgroupsPath = requireString(v.cgroupsPath, "linux.cgroupsPath");
  if (v.resources !== undefined) out.resources = v.resources;
  if (v.devices !== undefined && v.devices !== null) out.devices = validateDeviceSpecs(v.devices);
  return out;
}

/**
 * Checks a parsed config.json and returns the spec hostform will run. Every runtime-spec field
 * hostform does not implement is rejected with a ValidationError that names it; properties the
 * spec does not define are ignored, as it requires.
 */
export function validateSpec(input: unknown): ContainerSpec {
  if (!isObject(input)) throw new ValidationError("config.json", "must be a JSON object");
  rejectUnsupported(input, "", {
    domainname: "is not supported yet",
    windows: "is a Windows field",
    solaris: "is a Solaris field",
    vm: "is not supported",
    zos: "is not supported",
  });
  const ociVersion = requireString(input.ociVersion, "ociVersion");
  if (!/^1\.\d+\.\d+/.test(ociVersion)) throw new ValidationError("ociVersion", `'${ociVersion}' is not a 1.x runtime-spec version`);
  if (!isObject(input.root)) throw new ValidationError("root", "is required", '{"path": "rootfs"}');
  const root: RootSpec = { path: requireString(input.root.path, "root.path") };
  if (input.root.readonly !== undefined) {
    if (typeof input.root.readonly !== "boolean") throw new ValidationError("root.readonly", "must be a boolean");
    root.readonly = input.root.readonly;
  }
  const spec: ContainerSpec = { ociVersion, process: validateProcess(input.process), root };
  if (input.hostname !== undefined) {
    const h = requireString(input.hostname, "hostname");
    if (Buffer.byteLength(h) > 64) throw new ValidationError("hostname", "is longer than 64 bytes");
    spec.hostname = h;
  }
  if (input.mounts !== undefined) {
    if (!Array.isArray(input.mounts)) throw new ValidationError("mounts", "must be an array");
    spec.mounts = input.mounts.map((m, i) => validateMount(m, `mounts[${i}]`));
  }
  spec.linux = validateLinux(input.linux ?? {});
  if (spec.hostname !== undefined && !(spec.linux.namespaces ?? []).some((n) => n.type === "uts" && n.path === undefined)) {
    throw new ValidationError("hostname", "needs a new uts namespace, or it would rename the host", '{"type": "uts"} in linux.namespaces');
  }
  const idmapped = (spec.mounts ?? []).findIndex((m) => m.uidMappings === undefined && m.options?.some((o) => o === "idmap" || o === "ridmap") === true);
  if (idmapped >= 0 && !(spec.linux.namespaces ?? []).some((n) => n.type === "user")) {
    throw new ValidationError(`mounts[${idmapped}].options`, "an ID-mapped mount without mappings of its own takes the container's user namespace's, and it has none", 'add {"type": "user"} with linux.uidMappings, or give the mount uidMappings and gidMappings');
  }
  if (input.hooks !== undefined && input.hooks !== null) spec.hooks = validateHooks(input.hooks);
  if (input.annotations !== undefined) {
    if (!isObject(input.annotations) || Object.values(input.annotations).some((x) => typeof x !== "string")) {
      throw new ValidationError("annotations", "must be an object of string values");
    }
    spec.annotations = input.annotations as Record<string, string>;
  }
  return spec;
}

// Checks create and update run before anything is made or changed: every option, the rootfs and the
// program in it (lifecycleChecks), a cgroup that is taken or missing, the limits. Checked here, a bad
// request fails fast with nothing made.
import { ValidationError } from "../../sys/errors";
import { parseSignal } from "../../sys/signals";
import type { CgroupDriver } from "../../cgroup/driver";
import type { CgroupLimits } from "../../cgroup/spec";
import { ociDeviceRules } from "../deviceRules";
import { checkProgram, checkRoot } from "../lifecycleChecks";
import { DEFAULT_LOG_FILES, DEFAULT_LOG_MAX_BYTES } from "../logsFile";
import { checkRootLayers, overlayRootPath } from "../rootOverlay";
import { containerDir } from "../state";
import { parseRestartPolicy, type RestartPolicy } from "../restartPolicy";
import { validateSpec, type ContainerSpec } from "../spec";
import { validateIdMappings, type IdMapping } from "../specUserNamespace";
import type { CreateOptions, UpdateOptions } from "../socketProtocol";

/** A create request, checked: everything the container's setup needs, with defaults filled in. */
export interface CreatePlan {
  id: string;
  /** Validated, root.path absolute. */
  spec: ContainerSpec;
  bundle: string;
  restartPolicy: RestartPolicy;
  stopSignal: string;
  stopTimeout: number;
  logMaxBytes: number;
  logFiles: number;
  /** Name under hostform's parent; ownsCgroup says whether create makes it (and delete removes it). */
  cgroup: string;
  ownsCgroup: boolean;
  /** With ownsCgroup: the requested limits, devices always included (runc's rules for the spec unless given). */
  limits?: CgroupLimits;
  /** Compiled seccomp filter; undefined for none. */
  seccompBpf?: Buffer;
  /** A copy-on-write root over these layers (topmost first), mounted at spec.root.path. */
  rootLayers?: string[];
  /** "log", or the creating client's fds 0-2 as /proc paths. */
  stdio: "log" | string[];
  /** A user namespace to add at setup with ids of hostform's own (CreateOptions.userns). */
  autoUserns?: boolean;
  /** The rootfs directory to ID-map at <container dir>/rootfs (a user namespace and no rootLayers). */
  idmapRootDir?: string;
  /** The mappings of the joined user namespace (CreateOptions.joinedUserns), for the root. */
  rootIdMappings?: { uid: IdMapping[]; gid: IdMapping[] };
}

/** Checks a create request of container `id` (already known to be free) against the host. */
export function checkCreate(id: string, input: unknown, o: CreateOptions, cgroups: CgroupDriver): CreatePlan {
  const spec = validateSpec(input);
  const bundle = o.bundle ?? process.cwd();
  if (o.userns !== undefined && o.userns !== "auto") throw new ValidationError("userns", `${JSON.stringify(o.userns)} is not "auto"`, 'use "auto", or give linux.uidMappings and gidMappings in the spec');
  const userNs = spec.linux?.namespaces?.find((n) => n.type === "user");
  if (o.userns === "auto" && userNs !== undefined) throw new ValidationError("userns", '"auto" with a user namespace already in the spec', "drop one of them");
  // With a new user namespace (auto, or mappings of the spec's own) the root is seen through an ID-mapped mount.
  if (o.joinedUserns !== undefined && userNs?.path === undefined) throw new ValidationError("joinedUserns", "the spec joins no user namespace by path", "drop joinedUserns, or join one");
  const joinedMappings = o.joinedUserns === undefined ? undefined : { uid: validateIdMappings(o.joinedUserns.uidMappings, "joinedUserns.uidMappings"), gid: validateIdMappings(o.joinedUserns.gidMappings, "joinedUserns.gidMappings") };
  const mapsRoot = o.userns === "auto" || (userNs !== undefined && userNs.path === undefined) || joinedMappings !== undefined;
  let rootLayers: string[] | undefined;
  let idmapRootDir: string | undefined;
  if (o.rootLayers !== undefined) {
    // The root is made at setup (setUpContainer mounts it and looks for the program there).
    rootLayers = checkRootLayers(o.rootLayers);
    spec.root.path = overlayRootPath(containerDir(id));
  } else {
    spec.root.path = checkRoot(spec, bundle);
    checkProgram(spec, spec.root.path);
    if (mapsRoot) {
      idmapRootDir = spec.root.path;
      spec.root.path = overlayRootPath(containerDir(id));
    }
  }
  const restartPolicy = parseRestartPolicy(o.restartPolicy, "restartPolicy");
  const stopSignal = parseSignal(o.stopSignal ?? spec.annotations?.["org.opencontainers.image.stopSignal"] ?? "SIGTERM", "stopSignal");
  const stopTimeout = o.stopTimeout ?? 10;
  if (!isSeconds(stopTimeout)) throw new ValidationError("stopTimeout", `${stopTimeout} is not a number of seconds`, "use 0 or more");
  const logMaxBytes = o.logMaxBytes ?? DEFAULT_LOG_MAX_BYTES;
  const logFiles = o.logFiles ?? DEFAULT_LOG_FILES;
  if (!(Number.isInteger(logMaxBytes) && logMaxBytes > 0)) throw new ValidationError("logMaxBytes", `${logMaxBytes} is not a positive size`, "give bytes, e.g. 10485760");
  if (!(Number.isInteger(logFiles) && logFiles >= 0)) throw new ValidationError("logFiles", `${logFiles} is not a count`, "use 0 or more");
  const ownsCgroup = o.cgroup === undefined;
  const cgroup = o.cgroup ?? id;
  if (!ownsCgroup && !cgroups.exists(cgroup)) throw new ValidationError("cgroup", `cgroup ${cgroup} does not exist under hostform's parent`, "create it first or omit it");
  // A cgroup the runtime makes gets a device policy, as every runc container does.
  const limits: CgroupLimits | undefined = ownsCgroup ? { ...o.limits, devices: o.limits?.devices ?? ociDeviceRules(spec) } : undefined;
  if (ownsCgroup) {
    if (cgroups.exists(cgroup)) throw new ValidationError("id", `cgroup hostform/${cgroup} already exists`, "delete the stale cgroup or pick another id");
    cgroups.normalize(limits, "limits");
  }
  let stdio: CreatePlan["stdio"] = "log";
  if (o.stdio?.kind === "client") {
    const pid = o.stdio.pid;
    if (!Number.isInteger(pid) || pid <= 0) throw new ValidationError("stdio.pid", `${pid} is not a process id`);
    stdio = [0, 1, 2].map((fd) => `/proc/${pid}/fd/${fd}`);
  }
  const plan: CreatePlan = { id, spec, bundle, restartPolicy, stopSignal, stopTimeout, logMaxBytes, logFiles, cgroup, ownsCgroup, stdio };
  if (limits !== undefined) plan.limits = limits;
  if (rootLayers !== undefined) plan.rootLayers = rootLayers;
  if (idmapRootDir !== undefined) plan.idmapRootDir = idmapRootDir;
  if (o.userns === "auto") plan.autoUserns = true;
  if (joinedMappings !== undefined) plan.rootIdMappings = joinedMappings;
  if (o.seccompBpf !== undefined && o.seccompBpf !== "none") plan.seccompBpf = Buffer.from(o.seccompBpf, "base64");
  return plan;
}

/** An update request, checked: every field before anything changes. */
export function checkUpdate(u: UpdateOptions): { restartPolicy?: RestartPolicy; stopSignal?: string; stopTimeout?: number } {
  const out: ReturnType<typeof checkUpdate> = {};
  if (u.restartPolicy !== undefined) out.restartPolicy = parseRestartPolicy(u.restartPolicy, "restartPolicy");
  if (u.stopSignal !== undefined) out.stopSignal = parseSignal(u.stopSignal, "stopSignal");
  if (u.stopTimeout !== undefined) {
    if (!isSeconds(u.stopTimeout)) throw new ValidationError("stopTimeout", `${JSON.stringify(u.stopTimeout)} is not a number of seconds`, "use 0 or more");
    out.stopTimeout = u.stopTimeout;
  }
  return out;
}

function isSeconds(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v) && v >= 0;
}

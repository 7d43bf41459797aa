// specgen (as podman's): a container's declaration in, the OCI spec hostform's runtime runs out.
// Docker's defaults (defaults.ts) plus each declared part (process.ts, capabilities.ts, mounts.ts, the
// joined namespaces), validated by the runtime's own validateSpec so that a declaration is refused
// exactly when create would refuse it. Errors name the declaration's fields, not the spec's.
import { validateIdMappings, type IdMapping } from "../specUserNamespace";
import { statSync } from "node:fs";
import { isAbsolute } from "node:path";
import { ValidationError, hasCode } from "../../sys/errors";
import { ociNamespaceType, type NamespaceType } from "../../sys/namespaces";
import { checkProgram, checkRoot } from "../lifecycleChecks";
import type { RootSource } from "../layeredRoot";
import { validateSpec, type ContainerSpec } from "../spec";
import { capabilitiesSpec } from "./capabilities";
import type { LayeredRootfs, ContainerConfig } from "./config";
import { defaultSpec, type DefaultSpecOptions } from "./defaults";
import { resolveDevices } from "./devices";
import { nameFileMounts, withDeclaredMounts } from "./mounts";
import { argsOf, cwdOf, envOf, rlimitsOf, userOf } from "./process";

export interface GenerateOptions {
  /**
   * Also check what only the host can tell: the rootfs is a directory, the program is in it, user
   * names resolve in its /etc/passwd (default true; a preview whose rootfs is not known yet skips it).
   */
  checkHost?: boolean;
}

/** Spec field prefixes and the declaration field they come from. */
const CONFIG_FIELD_OF: ReadonlyArray<[RegExp, string]> = [
  [/^process\.args/, "command"],
  [/^process\.env/, "env"],
  [/^process\.cwd/, "cwd"],
  [/^process\.user/, "user"],
  [/^process\.capabilities/, "capabilities"],
  [/^process\.rlimits/, "rlimits"],
  [/^root\.path/, "rootfs"],
  [/^hostname/, "hostname"],
  [/^linux\.namespaces/, "namespace"],
  [/^linux\.devices/, "devices"],
];

/**
 * A ValidationError about a spec field (from validateSpec, create's checks or the init) as the
 * declaration field it came from; the spec field stays in the message. Other errors pass unchanged.
 */
export function asConfigError(err: unknown): unknown {
  if (!(err instanceof ValidationError)) return err;
  const hit = CONFIG_FIELD_OF.find(([re]) => re.test(err.field));
  if (hit === undefined) return err;
  // The env variant never repeats the entry: its value may be a secret.
  return hit[1] === "env" ? new ValidationError("env", "has an entry that is not NAME=value") : err.renamed(hit[1], ` [spec field ${err.field}]`);
}

/** The path the spec's root.path holds for a layered root: the runtime mounts the layers there. */
export const LAYERED_ROOT_PATH = "rootfs";

function checkRootfs(rootfs: unknown, checkHost: boolean): RootSource {
  if (typeof rootfs === "object" && rootfs !== null && Array.isArray((rootfs as LayeredRootfs).layers)) {
    const layers = (rootfs as LayeredRootfs).layers;
    for (const [i, l] of layers.entries()) {
      if (typeof l !== "string" || !isAbsolute(l)) throw new ValidationError("image", `layer ${i} ${JSON.stringify(l)} is not an absolute path`);
      if (checkHost && !isDirectory(l)) throw new ValidationError("image", `layer directory '${l}' is missing`, "run `hostform up` to unpack the image again");
    }
    if (layers.length === 0) throw new ValidationError("image", "has no layers");
    return { layers };
  }
  if (typeof rootfs !== "string" || !isAbsolute(rootfs)) throw new ValidationError("rootfs", `${JSON.stringify(rootfs)} is not an absolute path`, "give a directory path or a BusyboxRootfs");
  if (!checkHost) return rootfs;
  if (!isDirectory(rootfs)) throw new ValidationError("rootfs", `'${rootfs}' is not a directory`, "point it at an unpacked root filesystem");
  return rootfs;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch (err) {
    if (!hasCode(err, "ENOENT") && !hasCode(err, "ENOTDIR")) throw err;
    return false;
  }
}

/** The OCI spec of a declaration. Throws ValidationError naming the declaration's field. */
export function generateSpec(config: ContainerConfig, options: GenerateOptions = {}): ContainerSpec {
  const checkHost = options.checkHost ?? true;
  const args = argsOf(config);
  const rootfs = checkRootfs(config.rootfs, checkHost);
  const joined = Object.entries(config.namespace?.paths ?? {}) as Array<[NamespaceType, string]>;
  const joinsUts = joined.some(([t]) => t === "uts");
  const hostname = config.hostname ?? undefined;
  if (joinsUts && hostname !== undefined) {
    throw new ValidationError("hostname", `the container joins namespace ${config.namespace?.name ?? ""}'s uts namespace, whose hostname it shares`, "remove hostname, or drop uts from the Namespace");
  }
  const base: DefaultSpecOptions = { rootfs: typeof rootfs === "string" ? rootfs : LAYERED_ROOT_PATH, args, env: envOf(config.env), readonlyRoot: config.readonlyRootfs === true };
  const cwd = cwdOf(config.cwd);
  if (cwd !== undefined) base.cwd = cwd;
  if (hostname !== undefined) base.hostname = hostname;
  const user = userOf(config.user, rootfs, checkHost);
  if (user !== undefined) base.user = user;

  const spec = defaultSpec(base);
  if (joinsUts) delete spec.hostname;
  spec.process.capabilities = capabilitiesSpec(config.capabilities);
  const rlimits = rlimitsOf(config.rlimits);
  if (rlimits !== undefined) spec.process.rlimits = rlimits;
  spec.mounts = withDeclaredMounts([...(spec.mounts ?? []), ...nameFileMounts(config.nameFiles ?? undefined)], config.mounts ?? undefined);
  const devices = resolveDevices(config.devices);
  if (devices.length > 0) spec.linux = { ...spec.linux, devices: devices.map((d) => d.node) };
  const namespaces = spec.linux?.namespaces ?? [];
  for (const [type, path] of joined) {
    const ns = namespaces.find((n) => n.type === ociNamespaceType(type));
    if (ns !== undefined) ns.path = path;
    else namespaces.push({ type: ociNamespaceType(type), path });
  }
  joinNetwork(namespaces, config);
  const mappings = explicitMappings(config.userns);
  const joinsUser = joined.some(([t]) => t === "user");
  if (joinsUser && config.userns !== undefined && config.userns !== null && config.userns !== "host") {
    throw new ValidationError("userns", `the container joins namespace ${config.namespace?.name ?? ""}'s user namespace, whose mappings it shares`, "remove userns: the Namespace's userns decides");
  }
  if (mappings !== undefined && spec.linux !== undefined) {
    namespaces.push({ type: "user" });
    spec.linux.uidMappings = mappings.uidMappings;
    spec.linux.gidMappings = mappings.gidMappings;
  }
  if (spec.linux !== undefined) spec.linux.namespaces = namespaces;
  try {
    const valid = validateSpec(spec);
    if (checkHost) checkProgram(valid, typeof rootfs === "string" ? checkRoot(valid, "/") : rootfs);
    return valid;
  } catch (err) {
    throw asConfigError(err);
  }
}

/** The mappings of an explicit userns; undefined for "host" and "auto" (the runtime adds auto's at create). */
function explicitMappings(userns: ContainerConfig["userns"]): { uidMappings: IdMapping[]; gidMappings: IdMapping[] } | undefined {
  if (userns === undefined || userns === null || userns === "host" || userns === "auto") return undefined;
  if (typeof userns !== "object" || Array.isArray(userns)) throw new ValidationError("userns", `${JSON.stringify(userns)} is not "host", "auto" or {uidMappings, gidMappings}`, 'use "auto" for ids of hostform\'s own range');
  return { uidMappings: validateIdMappings(userns.uidMappings, "userns.uidMappings"), gidMappings: validateIdMappings(userns.gidMappings, "userns.gidMappings") };
}

/** The network namespace of networkNamespace: the host's (no entry), or a pinned one's path. */
function joinNetwork(namespaces: NonNullable<NonNullable<ContainerSpec["linux"]>["namespaces"]>, config: ContainerConfig): void {
  const mode = config.networkNamespace ?? undefined;
  if (mode === undefined) return;
  const own = namespaces.findIndex((n) => n.type === "network");
  if (own >= 0 && namespaces[own]!.path !== undefined) {
    throw new ValidationError("networks", `the container joins namespace ${config.namespace?.name ?? ""}'s network namespace, which owns the networks and ports`, "declare networks and ports on the Namespace, or drop net from it");
  }
  if (mode === "host") {
    if (own >= 0) namespaces.splice(own, 1);
    return;
  }
  if (!isAbsolute(mode)) throw new ValidationError("networkMode", `${JSON.stringify(mode)} is not a network namespace`, 'use "host", "none" or networks');
  if (own >= 0) namespaces[own]!.path = mode;
  else namespaces.push({ type: "network", path: mode });
}

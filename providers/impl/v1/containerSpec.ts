// A Container's declaration turned into the OCI spec hostform's runtime runs: defaultSpec() (Docker's
// secure defaults) plus the declared fields, validated by the runtime's own validateSpec so that
// check rejects exactly what create would. Field names in errors are the resource's, not the spec's.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { checkProgram, checkRoot } from "../../../src/runtime/lifecycleChecks";
import { DEFAULT_PATH } from "../../../src/runtime/programSearch";
import { resolveExecUser } from "../../../src/runtime/execUser";
import { parseRestartPolicy } from "../../../src/runtime/restartPolicy";
import { defaultSpec, validateSpec, type ContainerSpec, type MountSpec, type RlimitSpec, type UserSpec } from "../../../src/runtime/spec";
import { parseSignal } from "../../../src/sys/signals";
import { CAPABILITIES, DOCKER_DEFAULT_CAPABILITIES, RLIMITS } from "../../../src/sys/constants";
import { ValidationError, hasCode } from "../../../src/sys/errors";
import { ociNamespaceType, type NamespaceType } from "../../../src/sys/namespaces";
import type { ContainerInputs, ContainerMount } from "./containerInputs";

/** Annotation carrying the digest of everything that makes the container what it is (adoption key). */
export const SPEC_DIGEST_ANNOTATION = "org.hostform.spec-digest";

/** Spec field prefixes and the resource property they come from. */
const FIELD_OF_SPEC: Array<[RegExp, string]> = [
  [/^process\.args/, "command"],
  [/^process\.env/, "env"],
  [/^process\.cwd/, "cwd"],
  [/^process\.user/, "user"],
  [/^process\.capabilities/, "capabilities"],
  [/^process\.rlimits/, "rlimits"],
  [/^root\.path/, "rootfs"],
  [/^hostname/, "hostname"],
  [/^linux\.namespaces/, "namespace"],
];

/** Re-labels a spec ValidationError with the resource property (mounts[i] keeps its index). */
export function asInputError(err: unknown): unknown {
  if (!(err instanceof ValidationError)) return err;
  const hit = FIELD_OF_SPEC.find(([re]) => re.test(err.field));
  if (hit === undefined) return err;
  // Keep the spec's wording; the env variant never quotes values (they may be secret).
  const problem = err.message.slice(err.field.length + 2);
  return new ValidationError(hit[1], hit[1] === "env" ? "has an entry that is not NAME=value" : `${problem} [spec field ${err.field}]`);
}

function capName(raw: string, field: string): string {
  const up = raw.trim().toUpperCase();
  const name = up.startsWith("CAP_") ? up : `CAP_${up}`;
  if (CAPABILITIES[name] === undefined) throw new ValidationError(field, `unknown capability '${raw}'`, "use names such as NET_ADMIN or CAP_NET_ADMIN, or ALL");
  return name;
}

/** Docker's default capabilities, minus drop, plus add ("ALL" in either means every capability). */
export function effectiveCapabilities(caps: ContainerInputs["capabilities"]): string[] {
  const all = Object.keys(CAPABILITIES);
  const drop = caps?.drop ?? [];
  const add = caps?.add ?? [];
  if (!Array.isArray(drop)) throw new ValidationError("capabilities.drop", "must be a list of capability names");
  if (!Array.isArray(add)) throw new ValidationError("capabilities.add", "must be a list of capability names");
  const isAll = (x: string) => typeof x === "string" && x.trim().toUpperCase() === "ALL";
  const dropped = drop.some(isAll) ? new Set(all) : new Set(drop.map((c, i) => capName(c, `capabilities.drop[${i}]`)));
  const added = add.some(isAll) ? all : add.map((c, i) => capName(c, `capabilities.add[${i}]`));
  const out = new Set(DOCKER_DEFAULT_CAPABILITIES.filter((c) => !dropped.has(c)));
  for (const c of added) out.add(c);
  return all.filter((c) => out.has(c));
}

function rlimitsOf(input: ContainerInputs["rlimits"]): RlimitSpec[] | undefined {
  if (input === undefined || input === null) return undefined;
  if (typeof input !== "object" || Array.isArray(input)) throw new ValidationError("rlimits", "must be an object such as { nofile: 1024 }");
  return Object.entries(input).map(([k, v]) => {
    const type = k.toUpperCase().startsWith("RLIMIT_") ? k.toUpperCase() : `RLIMIT_${k.toUpperCase()}`;
    if (RLIMITS[type] === undefined) throw new ValidationError(`rlimits.${k}`, "is not an rlimit", "use names such as nofile, nproc, core");
    const soft = typeof v === "number" ? v : v?.soft;
    const hard = typeof v === "number" ? v : v?.hard;
    for (const [what, n] of [["soft", soft], ["hard", hard]] as const) {
      if (typeof n !== "number" || !Number.isInteger(n) || n < 0) throw new ValidationError(`rlimits.${k}`, `${what} limit must be a non-negative integer`, "give a number or { soft, hard }");
    }
    if (soft! > hard!) throw new ValidationError(`rlimits.${k}`, "soft limit is above the hard limit");
    return { type, soft: soft!, hard: hard! };
  });
}

function mountOf(m: ContainerMount, i: number): MountSpec {
  const f = `mounts[${i}]`;
  if (typeof m !== "object" || m === null) throw new ValidationError(f, "must be an object with a destination");
  const options = [...(m.options ?? [])];
  const bind = m.type === "bind" || (m.type === undefined && typeof m.source === "string" && isAbsolute(m.source));
  if (bind) {
    if (!options.includes("bind") && !options.includes("rbind")) options.unshift("rbind");
    if (typeof m.source === "string" && isAbsolute(m.source) && !existsSync(m.source)) {
      throw new ValidationError(`${f}.source`, `'${m.source}' does not exist on the host`, "create it first or fix the path");
    }
  }
  if (m.readonly === true && !options.includes("ro")) options.push("ro");
  const out: MountSpec = { destination: m.destination, options };
  const type = bind ? "bind" : m.type;
  if (type !== undefined) out.type = type;
  if (m.source !== undefined) out.source = m.source;
  else if (type !== undefined && !bind) out.source = type;
  return out;
}

/** The rootfs's passwd/group text, "" when absent (numeric users need no entry). */
function rootfsFile(rootfs: string, path: string): string {
  try {
    return readFileSync(join(rootfs, path), "utf8");
  } catch (err) {
    if (hasCode(err, "ENOENT") || hasCode(err, "ENOTDIR")) return "";
    throw err;
  }
}

function userOf(user: ContainerInputs["user"], rootfs: string): UserSpec | undefined {
  if (user === undefined || user === null) return undefined;
  if (typeof user === "number") return resolveExecUser(String(user), "", "");
  if (typeof user !== "string") throw new ValidationError("user", "must be a uid, \"uid:gid\" or a user name");
  return resolveExecUser(user, rootfsFile(rootfs, "etc/passwd"), rootfsFile(rootfs, "etc/group"));
}

function envOf(env: ContainerInputs["env"]): string[] {
  if (env === undefined || env === null) return [];
  if (typeof env !== "object" || Array.isArray(env)) throw new ValidationError("env", "must be an object of NAME: value");
  return Object.entries(env).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new ValidationError(`env.${k}`, "is not a variable name", "use letters, digits and _");
    if (typeof v !== "string") throw new ValidationError(`env.${k}`, "must be a string");
    return `${k}=${v}`;
  });
}

/** Checks the non-spec fields every create needs: restart policy, stop signal and timeout. */
export function validatePolicies(inputs: ContainerInputs): void {
  parseRestartPolicy(inputs.restartPolicy ?? undefined, "restartPolicy");
  if (inputs.stopSignal !== undefined && inputs.stopSignal !== null) parseSignal(inputs.stopSignal, "stopSignal");
  const t = inputs.stopTimeout;
  if (t !== undefined && t !== null && !(typeof t === "number" && Number.isFinite(t) && t >= 0)) {
    throw new ValidationError("stopTimeout", `${JSON.stringify(t)} is not a number of seconds`, "use 0 or more");
  }
  if (inputs.seccomp !== undefined && inputs.seccomp !== null && !["default", "unconfined", "profile"].includes(inputs.seccomp)) {
    throw new ValidationError("seccompProfile", `${JSON.stringify(inputs.seccomp)} is not a seccomp choice`, 'give a SeccompProfile, "default" or "unconfined"');
  }
}

/**
 * The OCI spec of a declaration. With checkHost, also what only the host can tell: the rootfs
 * exists, the program is found in it, bind sources exist, user names resolve.
 */
export function buildSpec(inputs: ContainerInputs, checkHost = true): ContainerSpec {
  if (!Array.isArray(inputs.command) || inputs.command.length === 0 || inputs.command.some((a) => typeof a !== "string")) {
    throw new ValidationError("command", "must be a non-empty list of strings", 'e.g. ["/bin/sh", "-c", "..."]');
  }
  if (inputs.args !== undefined && inputs.args !== null && (!Array.isArray(inputs.args) || inputs.args.some((a) => typeof a !== "string"))) {
    throw new ValidationError("args", "must be a list of strings");
  }
  if (typeof inputs.rootfs !== "string" || !isAbsolute(inputs.rootfs)) {
    throw new ValidationError("rootfs", `${JSON.stringify(inputs.rootfs)} is not an absolute path`, "give a directory path or a BusyboxRootfs");
  }
  if (checkHost) {
    let dir = false;
    try {
      dir = statSync(inputs.rootfs).isDirectory();
    } catch (err) {
      if (!hasCode(err, "ENOENT") && !hasCode(err, "ENOTDIR")) throw err;
    }
    if (!dir) throw new ValidationError("rootfs", `'${inputs.rootfs}' is not a directory`, "point it at an unpacked root filesystem");
  }
  const env = envOf(inputs.env);
  if (!env.some((e) => e.startsWith("PATH="))) env.unshift(`PATH=${DEFAULT_PATH}`);
  const user = checkHost ? userOf(inputs.user, inputs.rootfs) : typeof inputs.user === "number" ? userOf(inputs.user, "") : undefined;
  const joined = Object.entries(inputs.namespacePaths ?? {}) as Array<[NamespaceType, string]>;
  const joinsUts = joined.some(([t]) => t === "uts");
  if (joinsUts && inputs.hostname !== undefined && inputs.hostname !== null) {
    throw new ValidationError("hostname", `the container joins namespace ${inputs.namespaceName ?? ""}'s uts namespace, whose hostname it shares`, "remove hostname, or drop uts from the Namespace");
  }
  const opts: Parameters<typeof defaultSpec>[0] = { rootfs: inputs.rootfs, args: [...inputs.command, ...(inputs.args ?? [])], env, readonlyRoot: inputs.readonlyRootfs === true };
  if (inputs.cwd !== undefined && inputs.cwd !== null) opts.cwd = inputs.cwd;
  if (inputs.hostname !== undefined && inputs.hostname !== null) opts.hostname = inputs.hostname;
  if (user !== undefined) opts.user = user;
  const spec = defaultSpec(opts);
  if (joinsUts) delete spec.hostname;
  let mountOffset = 0;
  const caps = effectiveCapabilities(inputs.capabilities);
  spec.process.capabilities = { bounding: caps, effective: [...caps], permitted: [...caps] };
  const rlimits = rlimitsOf(inputs.rlimits);
  if (rlimits !== undefined) spec.process.rlimits = rlimits;
  if (inputs.mounts !== undefined && inputs.mounts !== null) {
    if (!Array.isArray(inputs.mounts)) throw new ValidationError("mounts", "must be a list of mounts");
    const declared = inputs.mounts.map(mountOf);
    // A declared mount replaces a default one at the same place (e.g. a bigger /dev/shm).
    const kept = (spec.mounts ?? []).filter((m) => !declared.some((d) => d.destination === m.destination));
    spec.mounts = [...kept, ...declared];
    mountOffset = kept.length;
  }
  for (const [type, path] of joined) {
    const ns = spec.linux!.namespaces!.find((n) => n.type === ociNamespaceType(type));
    if (ns !== undefined) ns.path = path;
    else spec.linux!.namespaces!.push({ type: ociNamespaceType(type), path });
  }
  let valid: ContainerSpec;
  try {
    valid = validateSpec(spec);
    if (checkHost) checkProgram(valid, checkRoot(valid, "/"));
  } catch (err) {
    throw asInputError(renumberMount(err, mountOffset));
  }
  return valid;
}

/** A spec error about mounts[i] names the declared mount (defaults come first in the spec). */
function renumberMount(err: unknown, offset: number): unknown {
  const m = err instanceof ValidationError ? /^mounts\[(\d+)\](.*)$/.exec(err.field) : null;
  if (m === null || !(err instanceof ValidationError)) return err;
  const field = `mounts[${Number(m[1]) - offset}]${m[2]}`;
  return new ValidationError(field, err.message.slice(err.field.length + 2));
}

/** sha256 of what the container runs as (spec, seccomp choice and digest): equal digests mean the same container. */
export function specDigest(spec: ContainerSpec, seccompKey: string): string {
  const { annotations: _ignored, ...rest } = spec;
  return createHash("sha256").update(JSON.stringify(rest)).update("\0").update(seccompKey).digest("hex");
}

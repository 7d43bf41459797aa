// A declaration's process: program and arguments, environment, working directory, user and rlimits.
import { readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { RLIMITS } from "../../sys/constants";
import { ValidationError, hasCode } from "../../sys/errors";
import { resolveExecUser } from "../execUser";
import { findInLayers, type RootSource } from "../layeredRoot";
import { DEFAULT_PATH } from "../programSearch";
import type { RlimitSpec, UserSpec } from "../spec";
import type { ContainerConfig } from "./config";

/** command + args, checked. */
export function argsOf(config: Pick<ContainerConfig, "command" | "args">): string[] {
  const { command, args } = config;
  if (!Array.isArray(command) || command.length === 0 || command.some((a) => typeof a !== "string") || command[0] === "") {
    throw new ValidationError("command", "must be a non-empty list of strings", 'e.g. ["/bin/sh", "-c", "..."]');
  }
  if (args !== undefined && args !== null && (!Array.isArray(args) || args.some((a) => typeof a !== "string"))) {
    throw new ValidationError("args", "must be a list of strings");
  }
  return [...command, ...(args ?? [])];
}

/** NAME=value entries, with the default PATH first when none is declared. */
export function envOf(env: ContainerConfig["env"]): string[] {
  const out: string[] = [];
  if (env !== undefined && env !== null) {
    if (typeof env !== "object" || Array.isArray(env)) throw new ValidationError("env", "must be an object of NAME: value");
    for (const [k, v] of Object.entries(env)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new ValidationError(`env.${k}`, "is not a variable name", "use letters, digits and _");
      // The value is never quoted in an error: it may be a secret.
      if (typeof v !== "string") throw new ValidationError(`env.${k}`, "must be a string");
      out.push(`${k}=${v}`);
    }
  }
  if (!out.some((e) => e.startsWith("PATH="))) out.unshift(`PATH=${DEFAULT_PATH}`);
  return out;
}

/** The working directory, absolute. */
export function cwdOf(cwd: ContainerConfig["cwd"]): string | undefined {
  if (cwd === undefined || cwd === null) return undefined;
  if (typeof cwd !== "string" || !isAbsolute(cwd)) throw new ValidationError("cwd", `${JSON.stringify(cwd)} is not an absolute path`, "start it with /");
  return cwd;
}

/** The rootfs's passwd/group text, "" when absent (numeric users need no entry). */
function rootfsFile(rootfs: RootSource, path: string): string {
  const host = typeof rootfs === "string" ? join(rootfs, path) : findInLayers(rootfs.layers, path);
  if (host === undefined) return "";
  try {
    return readFileSync(host, "utf8");
  } catch (err) {
    if (hasCode(err, "ENOENT") || hasCode(err, "ENOTDIR")) return "";
    throw err;
  }
}

/**
 * The user, resolved against the rootfs's /etc/passwd and /etc/group when readRootfs (names need
 * them; numeric ids do not). Without readRootfs a name cannot be resolved yet: undefined.
 */
export function userOf(user: ContainerConfig["user"], rootfs: RootSource, readRootfs: boolean): UserSpec | undefined {
  if (user === undefined || user === null) return undefined;
  if (typeof user === "number") return resolveExecUser(String(user), "", "");
  if (typeof user !== "string") throw new ValidationError("user", 'must be a uid, "uid:gid" or a user name');
  if (!readRootfs) return /^\d+(:\d+)?$/.test(user) ? resolveExecUser(user, "", "") : undefined;
  return resolveExecUser(user, rootfsFile(rootfs, "etc/passwd"), rootfsFile(rootfs, "etc/group"));
}

/** rlimits by name ("nofile" or "RLIMIT_NOFILE"), one number for both or { soft, hard }. */
export function rlimitsOf(input: ContainerConfig["rlimits"]): RlimitSpec[] | undefined {
  if (input === undefined || input === null) return undefined;
  if (typeof input !== "object" || Array.isArray(input)) throw new ValidationError("rlimits", "must be an object such as { nofile: 1024 }");
  return Object.entries(input).map(([k, v]) => {
    const type = k.toUpperCase().startsWith("RLIMIT_") ? k.toUpperCase() : `RLIMIT_${k.toUpperCase()}`;
    if (RLIMITS[type] === undefined) throw new ValidationError(`rlimits.${k}`, "is not an rlimit", "use names such as nofile, nproc, core");
    const soft: unknown = typeof v === "number" ? v : v?.soft;
    const hard: unknown = typeof v === "number" ? v : v?.hard;
    if (typeof soft !== "number" || !Number.isInteger(soft) || soft < 0) throw new ValidationError(`rlimits.${k}`, "soft limit must be a non-negative integer", "give a number or { soft, hard }");
    if (typeof hard !== "number" || !Number.isInteger(hard) || hard < 0) throw new ValidationError(`rlimits.${k}`, "hard limit must be a non-negative integer", "give a number or { soft, hard }");
    if (soft > hard) throw new ValidationError(`rlimits.${k}`, "soft limit is above the hard limit");
    return { type, soft, hard };
  });
}

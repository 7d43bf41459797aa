// Strict validation of Docker and OCI seccomp profiles. Every error names the entry and field
// ("syscalls[12].args[0].op") and says what would be accepted; unknown keys are rejected too,
// because a misspelt "errnoret" silently ignored would change what the filter does.
import { readFileSync } from "node:fs";
import { SysError, ValidationError } from "../sys/errors";
import { CAPABILITIES } from "../sys/constants";
import {
  PROFILE_ARCHES,
  SECCOMP_ACTIONS,
  SECCOMP_ARCHITECTURES,
  SECCOMP_FLAGS,
  SECCOMP_OPERATORS,
  type SeccompAction,
  type SeccompArchitecture,
  type SeccompArchMapEntry,
  type SeccompArg,
  type SeccompCondition,
  type SeccompFlag,
  type SeccompOperator,
  type SeccompProfile,
  type SeccompRule,
} from "./profile";
import { jsonErrorOffset, lineColumn } from "./jsonLocation";
import dockerDefault from "./profiles/docker-default.json";

/** Name under which Docker's default profile is built in. */
export const DOCKER_DEFAULT_PROFILE = "docker-default";

const MAX_ARGS = 6;
const UINT64_MAX = 0xffffffffffffffffn;
const MAX_ERRNO = 0xffff;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function rejectUnknownKeys(obj: Json, field: string, allowed: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw new ValidationError(field === "" ? key : `${field}.${key}`, "unknown field", `known fields: ${allowed.join(", ")}`);
    }
  }
}

function oneOf<T extends string>(value: unknown, field: string, what: string, allowed: readonly T[]): T {
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    throw new ValidationError(field, `unknown ${what} ${JSON.stringify(value)}`, `use one of ${allowed.join(", ")}`);
  }
  return value as T;
}

function stringList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ValidationError(field, "must be an array of strings");
  return value.map((v, i) => {
    if (typeof v !== "string" || v === "") throw new ValidationError(`${field}[${i}]`, `must be a non-empty string, got ${JSON.stringify(v)}`);
    return v;
  });
}

function errnoValue(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_ERRNO) {
    throw new ValidationError(field, `must be an errno number between 0 and ${MAX_ERRNO}, got ${JSON.stringify(value)}`, "e.g. 1 for EPERM, 38 for ENOSYS");
  }
  return value;
}

function uint64(value: unknown, field: string): bigint {
  let n: bigint | undefined;
  if (typeof value === "bigint") n = value;
  else if (typeof value === "number" && Number.isInteger(value)) {
    if (!Number.isSafeInteger(value)) {
      throw new ValidationError(field, `${value} cannot be represented exactly in a JavaScript number`, "pass the profile as JSON text or the value as a bigint");
    }
    n = BigInt(value);
  }
  if (n === undefined || n < 0n || n > UINT64_MAX) {
    throw new ValidationError(field, `must be an unsigned 64-bit integer, got ${JSON.stringify(typeof value === "bigint" ? value.toString() : value)}`);
  }
  return n;
}

function arch(value: unknown, field: string): SeccompArchitecture {
  return oneOf(value, field, "architecture", SECCOMP_ARCHITECTURES);
}

function validateArg(value: unknown, field: string): SeccompArg {
  if (!isObject(value)) throw new ValidationError(field, "must be an object {index, value, valueTwo, op}");
  rejectUnknownKeys(value, field, ["index", "value", "valueTwo", "op"]);
  const index = value.index;
  if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= MAX_ARGS) {
    throw new ValidationError(`${field}.index`, `must be an argument index 0-${MAX_ARGS - 1}, got ${JSON.stringify(index)}`, "system calls take at most six arguments");
  }
  if (value.value === undefined) throw new ValidationError(`${field}.value`, "is required");
  const op = oneOf(value.op, `${field}.op`, "operator", Object.keys(SECCOMP_OPERATORS) as SeccompOperator[]);
  return {
    index,
    op,
    value: uint64(value.value, `${field}.value`),
    valueTwo: value.valueTwo === undefined || value.valueTwo === null ? 0n : uint64(value.valueTwo, `${field}.valueTwo`),
  };
}

function validateCondition(value: unknown, field: string): SeccompCondition {
  if (value === undefined || value === null) return { caps: [], arches: [] };
  if (!isObject(value)) throw new ValidationError(field, "must be an object {caps, arches, minKernel}");
  rejectUnknownKeys(value, field, ["caps", "arches", "minKernel"]);
  const caps = stringList(value.caps, `${field}.caps`);
  caps.forEach((c, i) => {
    if (CAPABILITIES[c] === undefined) throw new ValidationError(`${field}.caps[${i}]`, `unknown capability ${JSON.stringify(c)}`, "use a CAP_* name such as CAP_SYS_ADMIN");
  });
  const arches = stringList(value.arches, `${field}.arches`);
  arches.forEach((a, i) => oneOf(a, `${field}.arches[${i}]`, "architecture", PROFILE_ARCHES));
  const out: SeccompCondition = { caps, arches };
  if (value.minKernel !== undefined && value.minKernel !== null && value.minKernel !== "") {
    if (typeof value.minKernel !== "string" || !/^\d+\.\d+$/.test(value.minKernel)) {
      throw new ValidationError(`${field}.minKernel`, `must be a kernel version "major.minor", got ${JSON.stringify(value.minKernel)}`, 'e.g. "5.8"');
    }
    out.minKernel = value.minKernel;
  }
  return out;
}

function validateRule(value: unknown, field: string): SeccompRule {
  if (!isObject(value)) throw new ValidationError(field, "must be an object {names, action, ...}");
  rejectUnknownKeys(value, field, ["names", "name", "action", "errnoRet", "args", "includes", "excludes", "comment"]);
  if (value.name !== undefined && value.names !== undefined && value.names !== null) {
    throw new ValidationError(`${field}.name`, "both name and names are given", "list every syscall in names");
  }
  let names: string[];
  if (value.name !== undefined) {
    if (typeof value.name !== "string" || value.name === "") throw new ValidationError(`${field}.name`, "must be a syscall name");
    names = [value.name];
  } else {
    names = stringList(value.names, `${field}.names`);
  }
  if (names.length === 0) throw new ValidationError(`${field}.names`, "must list at least one syscall");
  names.forEach((n, i) => {
    if (!/^[a-z0-9_]+$/.test(n)) throw new ValidationError(`${field}.names[${i}]`, `${JSON.stringify(n)} is not a syscall name`);
  });
  const action = validateAction(value.action, `${field}.action`);
  const errnoRet = errnoValue(value.errnoRet, `${field}.errnoRet`);
  if (errnoRet !== undefined && action !== "SCMP_ACT_ERRNO" && action !== "SCMP_ACT_TRACE") {
    throw new ValidationError(`${field}.errnoRet`, `is only meaningful with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${action}`);
  }
  let args: SeccompArg[] = [];
  if (value.args !== undefined && value.args !== null) {
    if (!Array.isArray(value.args)) throw new ValidationError(`${field}.args`, "must be an array");
    args = value.args.map((a, i) => validateArg(a, `${field}.args[${i}]`));
  }
  const rule: SeccompRule = {
    names,
    action,
    args,
    includes: validateCondition(value.includes, `${field}.includes`),
    excludes: validateCondition(value.excludes, `${field}.excludes`),
  };
  if (errnoRet !== undefined) rule.errnoRet = errnoRet;
  if (typeof value.comment === "string") rule.comment = value.comment;
  else if (value.comment !== undefined) throw new ValidationError(`${field}.comment`, "must be a string");
  return rule;
}

function validateAction(value: unknown, field: string): SeccompAction {
  if (value === "SCMP_ACT_NOTIFY") {
    throw new ValidationError(field, "SCMP_ACT_NOTIFY needs a seccomp listener, which hostform does not support", `use one of ${SECCOMP_ACTIONS.join(", ")}`);
  }
  return oneOf(value, field, "action", SECCOMP_ACTIONS);
}

function validateArchMap(value: unknown): SeccompArchMapEntry[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ValidationError("archMap", "must be an array of {architecture, subArchitectures}");
  return value.map((entry, i) => {
    const field = `archMap[${i}]`;
    if (!isObject(entry)) throw new ValidationError(field, "must be an object {architecture, subArchitectures}");
    rejectUnknownKeys(entry, field, ["architecture", "subArchitectures"]);
    return {
      architecture: arch(entry.architecture, `${field}.architecture`),
      subArchitectures: stringList(entry.subArchitectures, `${field}.subArchitectures`).map((a, j) => arch(a, `${field}.subArchitectures[${j}]`)),
    };
  });
}

function validateFlags(value: unknown): SeccompFlag[] {
  return stringList(value, "flags").map((f, i) => {
    if (f === "SECCOMP_FILTER_FLAG_TSYNC") {
      throw new ValidationError(`flags[${i}]`, "SECCOMP_FILTER_FLAG_TSYNC is not supported", "hostform loads a filter into one thread just before exec; TSYNC would filter every thread of that process");
    }
    return oneOf(f, `flags[${i}]`, "flag", Object.keys(SECCOMP_FLAGS) as SeccompFlag[]);
  });
}

/**
 * Validates a Docker seccomp profile or an OCI `linux.seccomp` object and normalizes it.
 * Throws ValidationError naming the offending field.
 */
export function validateProfile(value: unknown): SeccompProfile {
  if (!isObject(value)) throw new ValidationError("profile", "must be a JSON object with at least defaultAction");
  rejectUnknownKeys(value, "", ["defaultAction", "defaultErrnoRet", "architectures", "archMap", "syscalls", "flags", "listenerPath", "listenerMetadata"]);
  if (value.listenerPath !== undefined && value.listenerPath !== "") {
    throw new ValidationError("listenerPath", "seccomp user notification listeners are not supported", "remove listenerPath and any SCMP_ACT_NOTIFY rule");
  }
  if (value.listenerMetadata !== undefined && value.listenerMetadata !== "") {
    throw new ValidationError("listenerMetadata", "seccomp user notification listeners are not supported", "remove listenerMetadata");
  }
  if (value.defaultAction === undefined) throw new ValidationError("defaultAction", "is required", `use one of ${SECCOMP_ACTIONS.join(", ")}`);
  const defaultAction = validateAction(value.defaultAction, "defaultAction");
  const defaultErrnoRet = errnoValue(value.defaultErrnoRet, "defaultErrnoRet");
  if (defaultErrnoRet !== undefined && defaultAction !== "SCMP_ACT_ERRNO" && defaultAction !== "SCMP_ACT_TRACE") {
    throw new ValidationError("defaultErrnoRet", `is only meaningful with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${defaultAction}`);
  }
  const architectures = stringList(value.architectures, "architectures").map((a, i) => arch(a, `architectures[${i}]`));
  const archMap = validateArchMap(value.archMap);
  if (architectures.length > 0 && archMap.length > 0) {
    throw new ValidationError("architectures", "both architectures and archMap are given", "use either architectures or archMap, not both");
  }
  let syscalls: SeccompRule[] = [];
  if (value.syscalls !== undefined && value.syscalls !== null) {
    if (!Array.isArray(value.syscalls)) throw new ValidationError("syscalls", "must be an array");
    syscalls = value.syscalls.map((r, i) => validateRule(r, `syscalls[${i}]`));
  }
  const profile: SeccompProfile = { defaultAction, architectures, archMap, syscalls, flags: validateFlags(value.flags) };
  if (defaultErrnoRet !== undefined) profile.defaultErrnoRet = defaultErrnoRet;
  return profile;
}

/**
 * Parses JSON text keeping integers above 2^53 exact (as bigint), so a 64-bit mask in an
 * argument condition is never rounded. Syntax errors name the line and column.
 */
export function parseProfileJson(text: string, source = "profile"): unknown {
  try {
    return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) => {
      if (typeof value === "number" && !Number.isSafeInteger(value) && context?.source !== undefined && /^\d+$/.test(context.source)) {
        return BigInt(context.source);
      }
      return value;
    });
  } catch (err) {
    // V8's message repeats the position for some errors only; report ours, which is always there.
    // V8 quotes the text around the error after ', "' or ', ..."'; the line and column say more.
    const message = ((err as Error).message.split(/, (?:\.\.\.)?"/)[0] ?? "").replace(/ in JSON at position \d+.*$/s, "");
    const offset = jsonErrorOffset(text);
    let where = "";
    if (offset !== undefined) {
      const { line, column } = lineColumn(text, offset);
      where = ` at line ${line} column ${column}`;
    }
    throw new ValidationError(source, `malformed JSON${where}: ${message}`, "fix the JSON syntax");
  }
}

/** Parses and validates profile JSON text. */
export function parseProfile(text: string, source = "profile"): SeccompProfile {
  return validateProfile(parseProfileJson(text, source));
}

/** Docker's default profile (moby profiles/seccomp/default.json), validated. */
export function dockerDefaultProfile(): SeccompProfile {
  return validateProfile(dockerDefault);
}

/**
 * A profile from an object (already parsed), a JSON file path, or "docker-default" for the
 * built-in Docker default profile.
 */
export function loadProfile(source: object | string): SeccompProfile {
  if (typeof source !== "string") return validateProfile(source);
  if (source === DOCKER_DEFAULT_PROFILE) return dockerDefaultProfile();
  let text: string;
  try {
    text = readFileSync(source, "utf8");
  } catch (err) {
    const wrapped = SysError.fromNode(err, "read seccomp profile");
    if (wrapped instanceof SysError && wrapped.code === "ENOENT") {
      throw new ValidationError("profile", `${source} does not exist`, `give a profile JSON file or "${DOCKER_DEFAULT_PROFILE}"`);
    }
    throw wrapped;
  }
  return parseProfile(text, source);
}

// config.json "hooks" (runtime-spec config.md, POSIX-platform Hooks): programs the runtime runs at
// points of a container's life, each given the container's OCI state on stdin.
import { isAbsolute } from "node:path";
import { ValidationError } from "../sys/errors";

/** The hook lists of the runtime-spec, in the order a container meets them. */
export const HOOK_PHASES = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"] as const;
export type HookPhase = (typeof HOOK_PHASES)[number];

/** One hook: execv(path, args) with exactly env, killed after timeout seconds. */
export interface HookSpec {
  /** Absolute; resolved in the runtime's namespace, except for startContainer (in the container). */
  path: string;
  /** argv, args[0] included (as execv); absent: [path]. */
  args?: string[];
  /** The hook's whole environment (KEY=VALUE); absent: empty. */
  env?: string[];
  /** Seconds (> 0) before the hook is killed. */
  timeout?: number;
}

export type HooksSpec = Partial<Record<HookPhase, HookSpec[]>>;

function validateHook(v: unknown, f: string): HookSpec {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ValidationError(f, "must be an object with a path", '{"path": "/usr/bin/my-hook"}');
  const o = v as Record<string, unknown>;
  if (typeof o.path !== "string" || o.path === "") throw new ValidationError(`${f}.path`, "is required and must be a non-empty string", "give the hook's absolute path");
  if (!isAbsolute(o.path)) throw new ValidationError(`${f}.path`, `'${o.path}' is not an absolute path`, "start it with /");
  const hook: HookSpec = { path: o.path };
  for (const k of ["args", "env"] as const) {
    const list = o[k];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.some((x) => typeof x !== "string")) throw new ValidationError(`${f}.${k}`, "must be an array of strings");
    hook[k] = list as string[];
  }
  hook.env?.forEach((e, i) => {
    if (!e.includes("=")) throw new ValidationError(`${f}.env[${i}]`, `'${e}' is not KEY=VALUE`);
  });
  if (o.timeout !== undefined) {
    const t = o.timeout;
    if (typeof t !== "number" || !Number.isInteger(t) || t <= 0) throw new ValidationError(`${f}.timeout`, `must be a whole number of seconds greater than zero, got ${JSON.stringify(t)}`, "leave it out for no timeout");
    hook.timeout = t;
  }
  return hook;
}

/** Checks config.json's hooks; errors name the exact field ("hooks.createRuntime[0].path"). */
export function validateHooks(v: unknown): HooksSpec {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ValidationError("hooks", "must be an object of hook lists", '{"createRuntime": [{"path": "/usr/bin/my-hook"}]}');
  const o = v as Record<string, unknown>;
  const out: HooksSpec = {};
  for (const phase of HOOK_PHASES) {
    const list = o[phase];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) throw new ValidationError(`hooks.${phase}`, "must be an array of hooks");
    out[phase] = list.map((h, i) => validateHook(h, `hooks.${phase}[${i}]`));
  }
  return out;
}

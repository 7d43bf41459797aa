// The two hook phases the init runs itself, where runc's init runs them: createContainer in the
// container's mount namespace once its mounts are made, before pivot_root, with the rootfs as working
// directory (the host's tree is still reachable, for mount work); startContainer in the container, as
// its user, right before execve. Both see the init's own pid (in the container's pid namespace) and
// the status of that moment, as in runc (rootfs_linux.go, standard_init_linux.go).
import { runHooks, type OciStateJson } from "../hooks";
import { step } from "./steps";
import type { PrepareRequest } from "../initProtocol";
import type { HookSpec } from "../specHooks";

/** A phase's hooks with the state they will be given, carried from prepare to start. */
export interface PendingHooks {
  phase: "createContainer" | "startContainer";
  hooks: HookSpec[];
  /** The launcher's state JSON (PrepareRequest.hookState) without pid and status, which are set at run time. */
  state: Omit<OciStateJson, "pid" | "status">;
}

/** The spec's hooks of `phase`, if it has any. */
export function pendingHooks(req: PrepareRequest, phase: PendingHooks["phase"]): PendingHooks | undefined {
  const hooks = req.spec.hooks?.[phase];
  if (hooks === undefined || hooks.length === 0) return undefined;
  // Without the launcher's state, what the spec itself knows: a caller that runs hooks must send hookState.
  const given = req.hookState !== undefined ? (JSON.parse(req.hookState) as OciStateJson) : undefined;
  const state = given ?? { ociVersion: req.spec.ociVersion, id: "", bundle: "", annotations: req.spec.annotations ?? {} };
  return { phase, hooks, state };
}

/** Runs pending hooks (none: nothing); a failure is the step "<phase> hooks" with the HookError as cause. */
export function runPendingHooks(p: PendingHooks | undefined, cwd?: string): void {
  if (p === undefined) return;
  const state: OciStateJson = { ...p.state, pid: process.pid, status: p.phase === "createContainer" ? "creating" : "created" };
  step(`${p.phase} hooks`, () => runHooks(p.phase, p.hooks, state, cwd !== undefined ? { cwd } : {}));
}

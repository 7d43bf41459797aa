// What an import finds: a live container (made by hostform, by hostform-runtime, or left behind by
// a lost state) described as Container inputs, so that the provider's Diff against the declaration
// names exactly the inputs that differ. A part of the live spec that agrees with the declaration is
// reported as declared; one that does not is reported as it is live. Spec parts no input controls
// (anything hostform-runtime may have run that a Container cannot declare) go to specDifferences.
import { resolve } from "node:path";
import type { NormalizedLimits } from "../../../src/cgroup/spec";
import type { ContainerState } from "../../../src/runtime/state";
import type { ContainerInputs } from "./containerInputs";
import { declaredPolicies } from "./containerPolicy";
import { seccompChoice } from "./containerSeccomp";
import { buildSpec, rootLayersOf } from "./containerSpec";
import { sameValue } from "./sameValue";

type Spec = Record<string, unknown>;

/** Spec parts and the inputs that make them (the first one takes the live value on a mismatch). */
const SPEC_PARTS: ReadonlyArray<{ keys: readonly (keyof ContainerInputs)[]; path: readonly string[] }> = [
  { keys: ["rootfs"], path: ["root", "path"] },
  { keys: ["readonlyRootfs"], path: ["root", "readonly"] },
  { keys: ["command", "args"], path: ["process", "args"] },
  { keys: ["env"], path: ["process", "env"] },
  { keys: ["cwd"], path: ["process", "cwd"] },
  { keys: ["user"], path: ["process", "user"] },
  { keys: ["capabilities"], path: ["process", "capabilities"] },
  { keys: ["rlimits"], path: ["process", "rlimits"] },
  { keys: ["hostname"], path: ["hostname"] },
  { keys: ["mounts"], path: ["mounts"] },
  { keys: ["namespaceName", "namespacePaths"], path: ["linux", "namespaces"] },
];

function get(o: unknown, path: readonly string[]): unknown {
  let cur = o;
  for (const p of path) cur = typeof cur === "object" && cur !== null ? (cur as Spec)[p] : undefined;
  return cur;
}

/** A deep copy without the part at `path`. */
function without(o: Spec, path: readonly string[]): Spec {
  const out = structuredClone(o);
  let cur: Spec | undefined = out;
  for (const p of path.slice(0, -1)) cur = typeof cur?.[p] === "object" && cur[p] !== null ? (cur[p] as Spec) : undefined;
  if (cur !== undefined) delete cur[path[path.length - 1]!];
  return out;
}

/** "process.noNewPrivileges", "linux.maskedPaths", ...: where two specs differ, two levels deep. */
function differingPaths(a: Spec, b: Spec, prefix = "", depth = 2): string[] {
  const out: string[] = [];
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const x = a[k];
    const y = b[k];
    if (sameValue(x, y)) continue;
    const isObj = (v: unknown): v is Spec => typeof v === "object" && v !== null && !Array.isArray(v);
    if (depth > 1 && isObj(x) && isObj(y)) out.push(...differingPaths(x, y, `${prefix}${k}.`, depth - 1));
    else out.push(`${prefix}${k}`);
  }
  return out;
}

/** The live container as inputs: the declared value wherever the host agrees, else the live one. */
export function importedInputs(declared: ContainerInputs, state: ContainerState, liveLimits: NormalizedLimits | null, limitsMatch: boolean, seccompFiltered: boolean): ContainerInputs & { specDifferences?: string[] } {
  const out: ContainerInputs & { specDifferences?: string[] } = { ...declared, name: state.id, autonamed: false };
  let want = buildSpec(declared) as unknown as Spec;
  want = { ...want, root: { ...(want.root as Spec), path: resolve("/", String(get(want, ["root", "path"]))) } };
  let live = state.spec as unknown as Spec;
  // A copy-on-write root is mounted at the container's own path: the layers say what the root is.
  const liveLayers = state.rootLayers;
  const wantLayers = rootLayersOf(declared);
  if (liveLayers !== undefined) {
    const rootPath = declared.image === undefined && liveLayers.length === 1 ? liveLayers[0] : get(want, ["root", "path"]);
    live = { ...live, root: { ...(live.root as Spec), path: rootPath } };
  }
  // A directory root: copy-on-write or not is an input; an image's layers (or a root of several) are not.
  const liveIsDirectory = (liveLayers?.length ?? 1) === 1;
  if (declared.image === undefined && liveIsDirectory && (liveLayers === undefined) !== (wantLayers === undefined)) out.copyOnWrite = liveLayers !== undefined;
  const layersDiffer = declared.image !== undefined ? !sameValue(liveLayers, wantLayers) : !liveIsDirectory;
  for (const part of SPEC_PARTS) {
    const liveValue = get(live, part.path);
    if (!sameValue(get(want, part.path), liveValue)) {
      const [first, ...rest] = part.keys;
      Object.assign(out, { [first!]: liveValue ?? null });
      for (const k of rest) if (declared[k] !== undefined) Object.assign(out, { [k]: null });
    }
    want = without(want, part.path);
    live = without(live, part.path);
  }
  const { annotations: _a, ...wantRest } = want;
  const { annotations: _b, ...liveRest } = live;
  const extra = differingPaths(wantRest, liveRest);
  if (layersDiffer) extra.push("root.layers");
  if (extra.length > 0) out.specDifferences = extra;
  const parent = state.cgroup.includes("/") ? state.cgroup.slice(0, state.cgroup.lastIndexOf("/")) : undefined;
  if (parent !== declared.cgroupParent || state.cgroup.slice(state.cgroup.lastIndexOf("/") + 1) !== state.id) out.cgroupParent = state.cgroup;
  if (!limitsMatch) out.limits = (liveLimits ?? null) as ContainerInputs["limits"];
  if (seccompFiltered !== seccompChoice(declared, false).filtered) out.seccomp = seccompFiltered ? "default" : "unconfined";
  const policies = declaredPolicies(declared);
  if (state.restartPolicy !== policies.restartPolicy) out.restartPolicy = state.restartPolicy;
  if (state.stopSignal !== policies.stopSignal) out.stopSignal = state.stopSignal;
  if (state.stopTimeout !== policies.stopTimeout) out.stopTimeout = state.stopTimeout;
  return out;
}

// Applies a Docker profile's includes/excludes for one target: an architecture, a capability set
// and a kernel version. The result is what the OCI `linux.seccomp` of a container would hold
// (Docker does this step in the daemon before handing the spec to runc).
import { release } from "node:os";
import { ValidationError } from "../sys/errors";
import { CAPABILITIES, DOCKER_DEFAULT_CAPABILITIES } from "../sys/constants";
import type { SeccompArchitecture, SeccompProfile, SeccompRule } from "./profile";

/** Architectures hostform compiles filters for. */
export type TargetArch = "x86_64" | "aarch64";
export const TARGET_ARCHES: readonly TargetArch[] = ["x86_64", "aarch64"];

/** "default" = Docker's 14 default capabilities, "all" = every capability, or an explicit list. */
export type CapsContext = "default" | "all" | readonly string[];

/** The target a profile is resolved for. */
export interface ResolveOptions {
  arch?: TargetArch;
  caps?: CapsContext;
  /** "major.minor[...]"; default: the running kernel. */
  kernel?: string;
}

/** A rule selected for the target, with its position in the profile's syscalls[] for messages. */
export interface ResolvedRule extends SeccompRule {
  index: number;
}

/** A profile with includes/excludes applied: the rules that apply to the target, in order. */
export interface ResolvedProfile {
  arch: TargetArch;
  /** Capabilities the rules were selected for, sorted. */
  caps: string[];
  /** Kernel version minKernel was compared with, "major.minor". */
  kernel: string;
  defaultAction: SeccompProfile["defaultAction"];
  defaultErrnoRet?: number;
  /** Architectures the filter covers: the target first, then its archMap sub-architectures or `architectures`. */
  architectures: SeccompArchitecture[];
  rules: ResolvedRule[];
  flags: SeccompProfile["flags"];
}

/** The machine's own architecture as a TargetArch. */
export function nativeArch(): TargetArch {
  if (process.arch === "x64") return "x86_64";
  if (process.arch === "arm64") return "aarch64";
  throw new ValidationError("arch", `hostform does not compile seccomp filters for ${process.arch}`, `use --arch ${TARGET_ARCHES.join(" or ")}`);
}

const TARGET_SCMP: Record<TargetArch, SeccompArchitecture> = { x86_64: "SCMP_ARCH_X86_64", aarch64: "SCMP_ARCH_AARCH64" };
// includes/excludes `arches` use Go's GOARCH names: Docker compares them with its own runtime.GOARCH.
const TARGET_GOARCH: Record<TargetArch, string> = { x86_64: "amd64", aarch64: "arm64" };

/** Expands a caps context into a sorted list of CAP_* names; unknown names throw ValidationError("caps"). */
export function expandCaps(caps: CapsContext = "default"): string[] {
  if (caps === "default") return [...DOCKER_DEFAULT_CAPABILITIES].sort();
  if (caps === "all") return Object.keys(CAPABILITIES).sort();
  if (!Array.isArray(caps)) throw new ValidationError("caps", `must be "default", "all" or a list of CAP_* names`);
  const out = new Set<string>();
  caps.forEach((raw, i) => {
    const name = String(raw).trim().toUpperCase();
    const full = name.startsWith("CAP_") ? name : `CAP_${name}`;
    if (CAPABILITIES[full] === undefined) {
      throw new ValidationError(`caps[${i}]`, `unknown capability ${JSON.stringify(raw)}`, "use CAP_* names such as CAP_SYS_ADMIN, or default, or all");
    }
    out.add(full);
  });
  return [...out].sort();
}

/** "6.18.0-foo" -> [6, 18]. */
export function parseKernelVersion(version: string, field = "kernel"): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (m === null) throw new ValidationError(field, `${JSON.stringify(version)} is not a kernel version`, 'use "major.minor", e.g. "6.1"');
  return [Number(m[1]), Number(m[2])];
}

function kernelAtLeast(kernel: [number, number], min: string): boolean {
  const [maj, minr] = parseKernelVersion(min, "minKernel");
  return kernel[0] > maj || (kernel[0] === maj && kernel[1] >= minr);
}

function selected(rule: SeccompRule, goarch: string, caps: ReadonlySet<string>, kernel: [number, number]): boolean {
  const ex = rule.excludes;
  if (ex.arches.includes(goarch)) return false;
  if (ex.caps.some((c) => caps.has(c))) return false;
  if (ex.minKernel !== undefined && kernelAtLeast(kernel, ex.minKernel)) return false;
  const inc = rule.includes;
  if (inc.arches.length > 0 && !inc.arches.includes(goarch)) return false;
  if (!inc.caps.every((c) => caps.has(c))) return false;
  if (inc.minKernel !== undefined && !kernelAtLeast(kernel, inc.minKernel)) return false;
  return true;
}

function filterArchitectures(profile: SeccompProfile, arch: TargetArch): SeccompArchitecture[] {
  const target = TARGET_SCMP[arch];
  const out: SeccompArchitecture[] = [target];
  const add = (a: SeccompArchitecture): void => {
    if (!out.includes(a)) out.push(a);
  };
  if (profile.architectures.length > 0) profile.architectures.forEach(add);
  for (const entry of profile.archMap) {
    if (entry.architecture === target) entry.subArchitectures.forEach(add);
  }
  return out;
}

/**
 * Selects the rules of a profile that apply to a target. excludes win over includes, as in
 * Docker: an entry is dropped when any excluded cap is held, the arch is excluded or the kernel
 * is at least excludes.minKernel; it is kept only when all included caps are held, the arch is
 * listed (if any are) and the kernel is at least includes.minKernel.
 */
export function resolveProfile(profile: SeccompProfile, options: ResolveOptions = {}): ResolvedProfile {
  const arch = options.arch ?? nativeArch();
  if (!TARGET_ARCHES.includes(arch)) {
    throw new ValidationError("arch", `unknown architecture ${JSON.stringify(arch)}`, `use ${TARGET_ARCHES.join(" or ")}`);
  }
  const caps = expandCaps(options.caps);
  const kernelText = options.kernel ?? release();
  const kernel = parseKernelVersion(kernelText);
  const capSet = new Set(caps);
  const resolved: ResolvedProfile = {
    arch,
    caps,
    kernel: `${kernel[0]}.${kernel[1]}`,
    defaultAction: profile.defaultAction,
    architectures: filterArchitectures(profile, arch),
    rules: profile.syscalls.flatMap((r, index) => (selected(r, TARGET_GOARCH[arch], capSet, kernel) ? [{ ...r, index }] : [])),
    flags: profile.flags,
  };
  if (profile.defaultErrnoRet !== undefined) resolved.defaultErrnoRet = profile.defaultErrnoRet;
  return resolved;
}

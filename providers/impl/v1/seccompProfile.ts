// Provider adapter for hostform:SeccompProfile (protocol v1): a Docker/OCI profile validated and
// compiled with src/seccomp for an architecture and capability set. Nothing lives on the host; the
// "live" state is what the profile (its file, when given by path) and the installed libseccomp
// compile to now, so an edited profile file or a libseccomp upgrade shows as drift.
import { resolve } from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { compileProfile, type CompiledFilter } from "../../../src/seccomp/compile";
import { expandCaps, nativeArch, TARGET_ARCHES, type TargetArch } from "../../../src/seccomp/resolve";
import { DOCKER_DEFAULT_PROFILE, loadProfile } from "../../../src/seccomp/validate";
import type { SeccompProfile } from "../../../src/seccomp/profile";
import { ValidationError, hasCode } from "../../../src/sys/errors";
import { collectFailures } from "./checkFailures";
import { profileJson } from "./profileJson";
import { sameValue } from "./sameValue";
import { containsUnknown } from "./unknownValue";

/** Inputs as the SeccompProfile resource sends them. */
export interface SeccompProfileInputs {
  /** A profile object, a JSON file path (made absolute in check) or "docker-default". */
  profile: object | string;
  /** Target architecture; default: this machine's. */
  arch?: TargetArch;
  /** "default" (Docker's 14 capabilities), "all", or CAP_* names. */
  caps?: "default" | "all" | string[];
}

/** Outputs: the inputs plus the compiled filter's description. */
export interface SeccompProfileOutputs extends SeccompProfileInputs {
  arch: TargetArch;
  architectures: string[];
  /** Expanded capability list the rules were selected for. */
  capabilities: string[];
  digest: string;
  rules: number;
  instructions: number;
  unknownSyscalls: string[];
  profileJson: string;
}

function targetArch(inputs: SeccompProfileInputs): TargetArch {
  if (inputs.arch === undefined || inputs.arch === null) return nativeArch();
  if (!TARGET_ARCHES.includes(inputs.arch)) throw new ValidationError("arch", `unknown architecture ${JSON.stringify(inputs.arch)}`, `use ${TARGET_ARCHES.join(" or ")}`);
  return inputs.arch;
}

function load(inputs: SeccompProfileInputs): SeccompProfile {
  try {
    return loadProfile(inputs.profile);
  } catch (err) {
    // src/seccomp names fields relative to the profile; the resource property is `profile`.
    if (err instanceof ValidationError && err.field !== "profile") throw new ValidationError(`profile.${err.field}`, err.message.slice(err.field.length + 2));
    throw err;
  }
}

function compile(inputs: SeccompProfileInputs): { profile: SeccompProfile; filter: CompiledFilter; arch: TargetArch; caps: string[] } {
  const arch = targetArch(inputs);
  const caps = expandCaps(inputs.caps ?? "default");
  const profile = load(inputs);
  return { profile, arch, caps, filter: compileProfile(profile, { arch, caps }) };
}

function outputs(inputs: SeccompProfileInputs): SeccompProfileOutputs {
  const c = compile(inputs);
  return {
    ...inputs,
    arch: c.arch,
    architectures: c.filter.architectures,
    capabilities: c.caps,
    digest: c.filter.digest,
    rules: c.filter.rules,
    instructions: c.filter.instructions,
    unknownSyscalls: c.filter.unknownSyscalls,
    profileJson: profileJson(c.profile),
  };
}

/** The v1 SeccompProfile provider. */
export const provider: pulumi.dynamic.ResourceProvider<SeccompProfileInputs, SeccompProfileOutputs> = {
  async check(_olds, news) {
    const inputs: SeccompProfileInputs = { ...news };
    if (typeof inputs.profile === "string" && inputs.profile !== DOCKER_DEFAULT_PROFILE && !containsUnknown(inputs.profile)) inputs.profile = resolve(inputs.profile);
    if (containsUnknown(inputs)) return { inputs };
    const failures = collectFailures([() => void targetArch(inputs), () => void expandCaps(inputs.caps ?? "default"), () => void load(inputs)]);
    if (failures.length === 0) {
      const c = compile(inputs);
      // The program side warns too (see SeccompProfile); this reaches `hostform preview` at once.
      if (c.filter.unknownSyscalls.length > 0) {
        console.log(`warning: seccomp profile: libseccomp does not know ${c.filter.unknownSyscalls.join(", ")}; the filter cannot mention them (they get the default action or ENOSYS)`);
      }
    }
    return { inputs, failures };
  },

  async diff(_id, olds, news) {
    // olds.arch is the resolved target; an undeclared arch means this machine's.
    if (!sameValue(olds.profile, news.profile) || olds.arch !== (news.arch ?? nativeArch()) || !sameValue(olds.caps, news.caps)) return { changes: true };
    // Same declaration: a profile file edited since, or another libseccomp, compiles differently.
    return { changes: outputs(news).digest !== olds.digest };
  },

  async create(inputs) {
    const outs = outputs(inputs);
    return { id: outs.digest, outs };
  },

  async read(id, props) {
    if (props === undefined) return { id: "", props: {} as SeccompProfileOutputs };
    try {
      return { id, props: outputs(props) };
    } catch (err) {
      // The profile file was removed: the resource is gone, as a deleted cgroup is.
      if (err instanceof ValidationError && /does not exist/.test(err.message)) return { id: "", props: {} as SeccompProfileOutputs };
      if (hasCode(err, "ENOENT")) return { id: "", props: {} as SeccompProfileOutputs };
      throw err;
    }
  },

  async update(_id, _olds, news) {
    return { outs: outputs(news) };
  },

  async delete() {
    // Nothing on the host: the compiled filter lives only in the processes that load it.
  },
};

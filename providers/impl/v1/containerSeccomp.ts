// The seccomp filter a Container gets: Docker's default (compiled by the runtime client for the
// container's capabilities), none, or a SeccompProfile's profile compiled here for the target and
// capabilities the SeccompProfile resource used, so the filter matches the digest it reported.
import { compileProfile } from "../../../src/seccomp/compile";
import type { TargetArch } from "../../../src/seccomp/resolve";
import { loadProfile, parseProfileJson } from "../../../src/seccomp/validate";
import { ValidationError } from "../../../src/sys/errors";
import type { ContainerInputs } from "./containerInputs";

/** What RuntimeClient.create takes as `seccomp`, and the key that identifies the filter. */
export interface SeccompChoice {
  /** undefined: the client's default (Docker's profile); "none"; or compiled BPF. */
  option: Buffer | "none" | undefined;
  /** "default", "unconfined" or "profile:<digest>": part of the container's identity. */
  key: string;
  /** Whether PID 1 must show seccomp mode "filter". */
  filtered: boolean;
}

/** Resolves the declared choice; a profile is compiled (throws ValidationError("seccompProfile")). */
export function seccompChoice(inputs: ContainerInputs, compile = true): SeccompChoice {
  const choice = inputs.seccomp ?? "default";
  if (choice === "unconfined") return { option: "none", key: "unconfined", filtered: false };
  if (choice !== "profile") return { option: undefined, key: "default", filtered: true };
  if (typeof inputs.seccompProfileJson !== "string" || typeof inputs.seccompDigest !== "string") {
    throw new ValidationError("seccompProfile", "the SeccompProfile's profile text and digest are missing", "pass the SeccompProfile resource itself");
  }
  const key = `profile:${inputs.seccompDigest}`;
  if (!compile) return { option: undefined, key, filtered: true };
  try {
    const profile = loadProfile(parseProfileJson(inputs.seccompProfileJson) as object);
    const opts: Parameters<typeof compileProfile>[1] = { caps: inputs.seccompCapabilities ?? [] };
    if (typeof inputs.seccompArch === "string") opts.arch = inputs.seccompArch as TargetArch;
    return { option: compileProfile(profile, opts).bpf, key, filtered: true };
  } catch (err) {
    if (err instanceof ValidationError) throw new ValidationError("seccompProfile", err.message);
    throw err;
  }
}

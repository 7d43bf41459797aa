// The SeccompProfile resource: a Docker/OCI seccomp profile validated and compiled for a target.
import * as pulumi from "@pulumi/pulumi";
import type { SeccompProfileInput } from "../src/seccomp/profile";
import type { TargetArch } from "../src/seccomp/resolve";
import { stableProvider } from "./stableProvider";

const provider = stableProvider("seccompProfile");

/** Arguments of a SeccompProfile. */
export interface SeccompProfileArgs {
  /** The profile: an object (Docker or OCI `linux.seccomp` shape), a JSON file path, or "docker-default". */
  profile: pulumi.Input<SeccompProfileInput | string>;
  /** Architecture to compile for: "x86_64" or "aarch64". Default: this machine's. */
  arch?: pulumi.Input<TargetArch>;
  /** Capabilities the containers will hold, which select the profile's includes/excludes:
   *  "default" (Docker's 14), "all", or CAP_* names. Default "default". */
  caps?: pulumi.Input<"default" | "all" | pulumi.Input<string>[]>;
}

/**
 * A compiled seccomp filter description. Nothing is made on the host; containers that use it load
 * the filter. The digest changes when the profile, its file, the target or libseccomp changes, and
 * containers replace on a new digest. Syscalls the installed libseccomp does not know are reported
 * in `unknownSyscalls` and warned about.
 */
export class SeccompProfile extends pulumi.dynamic.Resource {
  /** The profile as given (file paths made absolute). */
  declare readonly profile: pulumi.Output<SeccompProfileInput | string>;
  /** Architecture compiled for. */
  declare readonly arch: pulumi.Output<TargetArch>;
  /** Architectures the filter covers, target first. */
  declare readonly architectures: pulumi.Output<string[]>;
  /** Capabilities the rules were selected for. */
  declare readonly capabilities: pulumi.Output<string[]>;
  /** sha256 of the BPF program. */
  declare readonly digest: pulumi.Output<string>;
  /** libseccomp rules added. */
  declare readonly rules: pulumi.Output<number>;
  /** BPF instructions, ENOSYS stub included. */
  declare readonly instructions: pulumi.Output<number>;
  /** Syscall names libseccomp does not know (the filter cannot mention them). */
  declare readonly unknownSyscalls: pulumi.Output<string[]>;
  /** The validated profile as JSON text, one property per line (diffs show line by line). */
  declare readonly profileJson: pulumi.Output<string>;

  constructor(name: string, args: SeccompProfileArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      name,
      { ...args, architectures: undefined, capabilities: undefined, digest: undefined, rules: undefined, instructions: undefined, unknownSyscalls: undefined, profileJson: undefined },
      opts,
      "hostform",
      "SeccompProfile",
    );
    this.unknownSyscalls.apply((unknown) => {
      if (Array.isArray(unknown) && unknown.length > 0) {
        void pulumi.log.warn(`libseccomp does not know ${unknown.join(", ")}: the filter cannot mention them, so they get the default action (or ENOSYS from the stub)`, this);
      }
    });
  }
}

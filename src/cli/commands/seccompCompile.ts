import { type Command, UsageError, onePositional, parseFlags, printJson } from "../command";
import { compileProfile, type CompiledFilter } from "../../seccomp/compile";
import { loadProfile } from "../../seccomp/validate";
import { TARGET_ARCHES, type CapsContext, type TargetArch } from "../../seccomp/resolve";
import { libseccompVersion } from "../../sys/libseccomp";
import { ValidationError } from "../../sys/errors";

const USAGE = `Usage: hostform seccomp compile <profile.json|docker-default> [--arch x86_64|aarch64]
                                [--caps default|all|CAP_X,...] [--pfc] [--json]

Compiles a Docker or OCI seccomp profile with libseccomp and prints the number of rules, the BPF
instruction count (ENOSYS stub included), the syscall names libseccomp does not know, and the
sha256 digest of the BPF program.

  --arch   target architecture (default: this machine's)
  --caps   capabilities the container holds, for includes/excludes: "default" (Docker's 14),
           "all", or a comma-separated list of CAP_* names (default: default)
  --pfc    print libseccomp's pseudo filter code instead of the summary
  --json   print {"rules", "instructions", "unknownSyscalls", "digest"}`;

function parseCaps(value: string | undefined): CapsContext {
  if (value === undefined || value === "default") return "default";
  if (value === "all") return "all";
  const list = value.split(",").map((c) => c.trim()).filter((c) => c !== "");
  if (list.length === 0) throw new ValidationError("--caps", "is empty", 'use "default", "all" or CAP_X,CAP_Y');
  return list;
}

function parseArch(value: string | undefined): TargetArch | undefined {
  if (value === undefined) return undefined;
  if (!(TARGET_ARCHES as readonly string[]).includes(value)) {
    throw new ValidationError("--arch", `unknown architecture ${JSON.stringify(value)}`, `use ${TARGET_ARCHES.join(" or ")}`);
  }
  return value as TargetArch;
}

function render(source: string, f: CompiledFilter): string {
  const v = libseccompVersion();
  const lines = [
    `profile:          ${source}`,
    `arch:             ${f.arch} (${f.architectures.join(", ")})`,
    `rules:            ${f.rules}`,
    `instructions:     ${f.instructions}${f.stubInstructions > 0 ? ` (${f.stubInstructions} in the ENOSYS stub)` : ""}`,
  ];
  if (f.unknownSyscalls.length === 0) lines.push("unknown syscalls: none");
  else {
    lines.push(`unknown syscalls: ${f.unknownSyscalls.length} not known to libseccomp ${v.major}.${v.minor}.${v.micro}; the filter cannot name them:`);
    lines.push(`  ${f.unknownSyscalls.join(" ")}`);
  }
  lines.push(`digest:           sha256:${f.digest}`);
  return lines.join("\n");
}

export const seccompCompileCommand: Command = {
  name: "seccomp compile",
  summary: "Compile a Docker/OCI seccomp profile to BPF and report rules, size and digest",
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, {
      arch: { type: "string" },
      caps: { type: "string" },
      pfc: { type: "boolean" },
      json: { type: "boolean" },
    });
    const source = onePositional(positionals, "give exactly one profile: a JSON file or docker-default");
    if (values.pfc === true && values.json === true) throw new UsageError("--pfc and --json exclude each other");
    const arch = parseArch(values.arch);
    const options: { arch?: TargetArch; caps: CapsContext } = { caps: parseCaps(values.caps) };
    if (arch !== undefined) options.arch = arch;
    const filter = compileProfile(loadProfile(source), options);
    if (values.pfc === true) process.stdout.write(filter.pfc());
    else if (values.json === true) {
      printJson({ rules: filter.rules, instructions: filter.instructions, unknownSyscalls: filter.unknownSyscalls, digest: filter.digest });
    } else process.stdout.write(render(source, filter) + "\n");
    return 0;
  },
};

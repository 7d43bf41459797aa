// Entry of `hostform-runtime`, the OCI runtime command line (runc's commands and flags), so tools
// that drive runc (podman --runtime, containerd shims, conformance suites) can drive hostform.
import { describeError } from "../engine/errorText";
import { HostformError } from "../sys/errors";
import { UsageError } from "./command";
import { parseGlobalFlags, type GlobalFlags } from "./runtime/globalFlags";
import { logLine } from "./runtime/errorLog";
import { OCI_COMMANDS } from "./runtime/ociCommands";
import { runtimeRoot } from "../runtime/oci/root";

function usage(): string {
  return [
    "Usage: hostform-runtime [--root DIR] [--log FILE] [--log-format text|json] [--debug] <command> [args]",
    "  --root: where containers are kept (default $HOSTFORM_RUNTIME_ROOT or /run/hostform-runtime)",
    "",
    "Commands:",
    ...OCI_COMMANDS.map((c) => `  ${c.usage}`),
  ].join("\n");
}

/** Runs one `hostform-runtime` invocation; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let flags: GlobalFlags = { logFormat: "text", debug: false };
  try {
    const parsed = parseGlobalFlags(argv);
    flags = parsed.flags;
    if (parsed.command === undefined || parsed.command === "help") {
      process.stdout.write(`${usage()}\n`);
      return parsed.command === undefined ? 2 : 0;
    }
    if (parsed.command === "version") {
      process.stdout.write("hostform-runtime 0.1.0\nspec: 1.0.2\n");
      return 0;
    }
    const cmd = OCI_COMMANDS.find((c) => c.name === parsed.command);
    if (cmd === undefined) throw new UsageError(`unknown command '${parsed.command}'`);
    if (parsed.rest.includes("--help") || parsed.rest.includes("-h")) {
      process.stdout.write(`Usage: hostform-runtime ${cmd.usage}\n`);
      return 0;
    }
    logLine(flags, "debug", `${cmd.name} ${parsed.rest.join(" ")}`);
    return await cmd.run({ root: runtimeRoot(flags.root) }, parsed.rest);
  } catch (err) {
    if (err instanceof UsageError) {
      logLine(flags, "error", describeError(err));
      process.stderr.write(`${usage()}\n`);
      return 2;
    }
    if (err instanceof HostformError) {
      logLine(flags, "error", describeError(err));
      return 1;
    }
    throw err;
  }
}

// runc's global flags, given before the command: --root, --log, --log-format, --debug (and the
// cgroup-manager flags tools pass without asking, accepted when they ask for what hostform does).
import { UsageError } from "../command";

/** Parsed global flags of `hostform-runtime`. */
export interface GlobalFlags {
  /** State root; default HOSTFORM_RUNTIME_ROOT or /run/hostform-runtime (runtimeRoot). */
  root?: string;
  log?: string;
  logFormat: "text" | "json";
  debug: boolean;
}

let parsedFlags: GlobalFlags = { logFormat: "text", debug: false };

/**
 * The global flags of this invocation, as parseGlobalFlags last returned them: `hostform-runtime`
 * parses them once per process, and a command that logs (warnings of create and run) reaches the
 * same --log through them.
 */
export function invocationFlags(): GlobalFlags {
  return parsedFlags;
}

const WITH_VALUE = new Set(["--root", "--log", "--log-format", "--criu", "--rootless"]);

/** Splits argv into global flags, the command and its own arguments. */
export function parseGlobalFlags(argv: string[]): { flags: GlobalFlags; command: string | undefined; rest: string[] } {
  const flags: GlobalFlags = { logFormat: "text", debug: false };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] ?? "";
    if (!a.startsWith("-")) break;
    const eq = a.indexOf("=");
    const name = eq >= 0 ? a.slice(0, eq) : a;
    let value: string | undefined;
    if (WITH_VALUE.has(name)) {
      value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`${name} needs a value`);
    }
    switch (name) {
      case "--root":
        flags.root = value!;
        break;
      case "--log":
        flags.log = value!;
        break;
      case "--log-format":
        if (value !== "text" && value !== "json") throw new UsageError(`--log-format: ${value} is not text or json`);
        flags.logFormat = value;
        break;
      case "--debug":
        flags.debug = true;
        break;
      case "--systemd-cgroup":
        throw new UsageError("--systemd-cgroup: hostform manages cgroupfs directly; drop the flag");
      case "--criu":
      case "--rootless":
        // Accepted for compatibility: checkpointing is not implemented, rootless is decided by the caller's uid.
        break;
      case "--help":
      case "-h":
        parsedFlags = flags;
        return { flags, command: "help", rest: [] };
      case "--version":
      case "-v":
        parsedFlags = flags;
        return { flags, command: "version", rest: [] };
      default:
        throw new UsageError(`unknown global flag ${a}`);
    }
  }
  parsedFlags = flags;
  return { flags, command: argv[i], rest: argv.slice(i + 1) };
}

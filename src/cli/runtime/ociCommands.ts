// The OCI runtime commands of `hostform-runtime`, with runc's flags. Each goes through the run
// dir's supervisor, so the container outlives this short-lived process. As an OCI runtime it runs
// config.json exactly as given: no seccomp filter when linux.seccomp is absent, like runc (podman
// and containerd always send their own profile). Docker's default profile is the secure default of
// hostform's own API (RuntimeClient, the Container resource), not of this command line.
import { readFileSync } from "node:fs";
import { atomicWrite } from "../../sys/atomicFile";
import { join, resolve } from "node:path";
import { UsageError, onePositional, parseFlags, printJson } from "../command";
import { ValidationError, SysError, hasCode } from "../../sys/errors";
import { RuntimeClient, type ContainerState } from "../../runtime/client";
import { validateSpec } from "../../runtime/spec";
import { ociState } from "../../runtime/state";
import { parseSignal } from "../../sys/signals";
import { describeError } from "../../engine/errorText";
import { logLine } from "./errorLog";
import { invocationFlags } from "./globalFlags";

/** One `hostform-runtime <name>` command. */
export interface OciCommand {
  name: string;
  usage: string;
  run(client: RuntimeClient, argv: string[]): Promise<number>;
}

function oneId(positionals: string[], extra = 0): string {
  return onePositional(positionals, "give the container id", extra);
}

function readBundle(bundle: string): unknown {
  const path = join(bundle, "config.json");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (hasCode(err, "ENOENT")) throw new ValidationError("--bundle", `${path} does not exist`, "point --bundle at a directory holding config.json");
    throw SysError.fromNode(err, `read ${path}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ValidationError(path, `is not valid JSON: ${(err as Error).message}`, undefined, { cause: err });
  }
}

function writePidFile(path: string | undefined, pid: number): void {
  if (path === undefined) return;
  // runc writes it atomically: tools poll for the file and must not read it half-written.
  atomicWrite(path, String(pid), { mode: 0o644 });
}

const CREATE_FLAGS = {
  bundle: { type: "string", short: "b" },
  "pid-file": { type: "string" },
  "console-socket": { type: "string" },
  "no-pivot": { type: "boolean" },
  "no-new-keyring": { type: "boolean" },
  "preserve-fds": { type: "string" },
} as const;

async function createFromBundle(client: RuntimeClient, id: string, values: { bundle?: string; "console-socket"?: string; "preserve-fds"?: string; "no-pivot"?: boolean }): Promise<ContainerState> {
  if (values["console-socket"] !== undefined) throw new ValidationError("--console-socket", "terminals are not supported yet", "set process.terminal to false");
  if (values["no-pivot"] === true) throw new ValidationError("--no-pivot", "hostform always uses pivot_root", "drop --no-pivot");
  if (values["preserve-fds"] !== undefined && values["preserve-fds"] !== "0") throw new ValidationError("--preserve-fds", "passing extra fds is not supported", "drop --preserve-fds");
  const bundle = resolve(values.bundle ?? ".");
  const raw = readBundle(bundle);
  const spec = validateSpec(raw);
  // linux.resources.devices is not a limit group's object: the runtime reads it from the spec and adds runc's default rules after it (src/runtime/deviceRules.ts).
  // src/cgroup (22 modules, ~15 ms) is loaded only for a bundle that sets resources: a short-lived command pays for what it uses.
  const limits = spec.linux?.resources === undefined ? undefined : (await import("../../cgroup/spec.js")).limitsFromOci(spec.linux.resources, "linux.resources", ["devices"]);
  // RuntimeClient would fill in Docker's default profile; an OCI runtime must not add a filter.
  const seccomp = spec.linux?.seccomp === undefined ? { seccomp: "none" } : {};
  const created = await client.create(id, raw, { bundle, stdio: { kind: "client", pid: process.pid }, ...seccomp, ...(limits !== undefined ? { limits } : {}) });
  logWarnings(created);
  return created;
}

/** What the init skipped without failing goes to stderr and --log at level warning, as runc logs its warnings. */
function logWarnings(s: ContainerState): void {
  for (const w of s.warnings ?? []) logLine(invocationFlags(), "warning", `container ${s.id}: ${w}`);
}

const create: OciCommand = {
  name: "create",
  usage: "create [--bundle DIR] [--pid-file FILE] <id>   (config.json as given: no linux.seccomp, no filter, as in runc)",
  async run(client, argv) {
    const { values, positionals } = parseFlags(argv, CREATE_FLAGS);
    const s = await createFromBundle(client, oneId(positionals), values);
    writePidFile(values["pid-file"], s.pid);
    return 0;
  },
};

const start: OciCommand = {
  name: "start",
  usage: "start <id>",
  async run(client, argv) {
    const { positionals } = parseFlags(argv, {});
    await client.start(oneId(positionals));
    return 0;
  },
};

const state: OciCommand = {
  name: "state",
  usage: "state <id>",
  async run(client, argv) {
    const { positionals } = parseFlags(argv, {});
    printJson(ociState(await client.state(oneId(positionals))));
    return 0;
  },
};

const kill: OciCommand = {
  name: "kill",
  usage: "kill [--all] <id> [SIGNAL]",
  async run(client, argv) {
    const { values, positionals } = parseFlags(argv, { all: { type: "boolean", short: "a" } });
    const id = oneId(positionals, 1);
    const sig = parseSignal(positionals[1] ?? "SIGTERM", "SIGNAL");
    // --all: the container's PID 1 is in its own pid namespace, so killing it kills every process in it.
    void values.all;
    await client.kill(id, sig);
    return 0;
  },
};

const del: OciCommand = {
  name: "delete",
  usage: "delete [--force] <id>",
  async run(client, argv) {
    const { values, positionals } = parseFlags(argv, { force: { type: "boolean", short: "f" } });
    await client.delete(oneId(positionals), { force: values.force === true });
    return 0;
  },
};

const run: OciCommand = {
  name: "run",
  usage: "run [--bundle DIR] [--pid-file FILE] [--detach] <id>   (no linux.seccomp in config.json: no filter)",
  async run(client, argv) {
    const { values, positionals } = parseFlags(argv, { ...CREATE_FLAGS, detach: { type: "boolean", short: "d" }, "keep": { type: "boolean" } });
    const id = oneId(positionals);
    const s = await createFromBundle(client, id, values);
    writePidFile(values["pid-file"], s.pid);
    try {
      await client.start(id);
    } catch (err) {
      // The start's error is the one to report; a container left behind is worth a warning.
      await client.delete(id, { force: true }).catch((e: unknown) => logLine(invocationFlags(), "warning", `container ${id} was not deleted after its failed start: ${describeError(e)}`));
      throw err;
    }
    if (values.detach === true) return 0;
    // Foreground: signals for this process go to the container, as runc forwards them. A container
    // that has just exited cannot take one, which is no failure of this run (--debug shows it).
    const forward = (sig: NodeJS.Signals) => void client.kill(id, sig).catch((e: unknown) => logLine(invocationFlags(), "debug", `forward ${sig} to ${id}: ${describeError(e)}`));
    const sigs: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"];
    for (const sig of sigs) process.on(sig, forward);
    try {
      const r = await client.wait(id);
      return r.exitCode ?? 255;
    } finally {
      for (const sig of sigs) process.removeListener(sig, forward);
      if (values.keep !== true) await client.delete(id, { force: true }).catch((e: unknown) => logLine(invocationFlags(), "warning", `container ${id} was not deleted after it exited: ${describeError(e)}`));
    }
  },
};

const list: OciCommand = {
  name: "list",
  usage: "list [--format table|json] [--quiet]",
  async run(client, argv) {
    const { values } = parseFlags(argv, { format: { type: "string", short: "f" }, quiet: { type: "boolean", short: "q" } }, false);
    const { containers: all, unreadable } = await client.listAll();
    // As runc does: a container whose state cannot be loaded is a warning, never left out silently.
    for (const u of unreadable) process.stderr.write(`hostform-runtime list: warning: cannot load container ${u.id}: ${u.error.message}\n`);
    if (values.quiet === true) {
      for (const s of all) process.stdout.write(`${s.id}\n`);
      return 0;
    }
    if (values.format === "json") {
      printJson(all.map((s) => ({ ...ociState(s), pid: s.status === "stopped" ? 0 : s.pid, rootfs: s.spec.root.path, created: s.created, owner: "root" })));
      return 0;
    }
    if (values.format !== undefined && values.format !== "table") throw new UsageError(`--format: ${values.format} is not table or json`);
    process.stdout.write("ID\tPID\tSTATUS\tBUNDLE\tCREATED\n");
    for (const s of all) process.stdout.write(`${s.id}\t${s.status === "stopped" ? 0 : s.pid}\t${s.status}\t${s.bundle}\t${s.created}\n`);
    return 0;
  },
};

/** Every command `hostform-runtime` knows. */
export const OCI_COMMANDS: readonly OciCommand[] = [create, start, state, kill, del, run, list];

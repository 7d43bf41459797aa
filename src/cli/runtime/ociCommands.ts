// The OCI runtime commands of `hostform-runtime`, with runc's flags and runc's process model: no
// daemon. create builds the container from this process and leaves its init waiting on the exec
// fifo, re-parented to the caller's subreaper when this process exits; start, state, kill and
// delete each work from the container's record and the kernel. As an OCI runtime it runs
// config.json exactly as given: no seccomp filter when linux.seccomp is absent, like runc (podman
// and containerd always send their own profile). Modules are loaded per command: every call is a
// process start, and `state` must not pay for what `create` needs.
import { closeSync } from "node:fs";
import { UsageError, onePositional, parseFlags, printJson } from "../command";
import { ValidationError } from "../../sys/errors";
import { parseSignal, signalNumber } from "../../sys/signals";
import { logLine } from "./errorLog";
import { invocationFlags } from "./globalFlags";
import { OCI_INFO_COMMANDS } from "./ociInfoCommands";
import { splitAtId } from "./argvSplit";

/** What every command gets: the state root (--root, HOSTFORM_RUNTIME_ROOT or /run/hostform-runtime). */
export interface OciContext {
  root: string;
}

/** One `hostform-runtime <name>` command. */
export interface OciCommand {
  name: string;
  usage: string;
  run(ctx: OciContext, argv: string[]): Promise<number>;
}

function oneId(positionals: string[], extra = 0): string {
  return onePositional(positionals, "give the container id", extra);
}

const CREATE_FLAGS = {
  bundle: { type: "string", short: "b" },
  "pid-file": { type: "string" },
  "console-socket": { type: "string" },
  "no-pivot": { type: "boolean" },
  "no-new-keyring": { type: "boolean" },
  "preserve-fds": { type: "string" },
} as const;

type CreateValues = { bundle?: string; "pid-file"?: string; "console-socket"?: string; "no-pivot"?: boolean; "preserve-fds"?: string };

async function create(ctx: OciContext, id: string, values: CreateValues) {
  if (values["no-pivot"] === true) throw new ValidationError("--no-pivot", "hostform always uses pivot_root", "drop --no-pivot");
  const { ociCreate } = await import("../../runtime/oci/create.js");
  const req: Parameters<typeof ociCreate>[0] = { root: ctx.root, id, bundle: values.bundle ?? "." };
  if (values["pid-file"] !== undefined) req.pidFile = values["pid-file"];
  if (values["preserve-fds"] !== undefined) req.preserveFds = values["preserve-fds"];
  if (values["console-socket"] !== undefined) req.consoleSocket = values["console-socket"];
  const created = await ociCreate(req);
  for (const w of created.warnings) logLine(invocationFlags(), "warning", `container ${id}: ${w}`);
  return created;
}

const createCommand: OciCommand = {
  name: "create",
  usage: "create [--bundle DIR] [--pid-file FILE] [--console-socket SOCK] [--preserve-fds N] <id>   (config.json as given: no linux.seccomp, no filter, as in runc)",
  async run(ctx, argv) {
    const { values, positionals } = parseFlags(argv, CREATE_FLAGS);
    const created = await create(ctx, oneId(positionals), values);
    // The init stays, waiting for start; this process only lets go of it.
    await created.detach();
    return 0;
  },
};

const startCommand: OciCommand = {
  name: "start",
  usage: "start <id>",
  async run(ctx, argv) {
    const { positionals } = parseFlags(argv, {});
    const { ociStart } = await import("../../runtime/oci/lifecycle.js");
    ociStart(ctx.root, oneId(positionals));
    return 0;
  },
};

const stateCommand: OciCommand = {
  name: "state",
  usage: "state <id>",
  async run(ctx, argv) {
    const { positionals } = parseFlags(argv, {});
    const { ociState } = await import("../../runtime/oci/lifecycle.js");
    printJson(ociState(ctx.root, oneId(positionals)));
    return 0;
  },
};

const killCommand: OciCommand = {
  name: "kill",
  usage: "kill [--all] <id> [SIGNAL]",
  async run(ctx, argv) {
    const { values, positionals } = parseFlags(argv, { all: { type: "boolean", short: "a" } });
    const id = oneId(positionals, 1);
    const sig = signalNumber(parseSignal(positionals[1] ?? "SIGTERM", "SIGNAL"));
    const { ociKill } = await import("../../runtime/oci/lifecycle.js");
    await ociKill(ctx.root, id, sig, values.all === true);
    return 0;
  },
};

const deleteCommand: OciCommand = {
  name: "delete",
  usage: "delete [--force] <id>",
  async run(ctx, argv) {
    const { values, positionals } = parseFlags(argv, { force: { type: "boolean", short: "f" } });
    const { ociDelete } = await import("../../runtime/oci/lifecycle.js");
    const id = oneId(positionals);
    await ociDelete(ctx.root, id, values.force === true, (w) => logLine(invocationFlags(), "warning", `container ${id}: ${w}`));
    return 0;
  },
};

/** Signals `run` passes on to the container, as runc forwards every signal it can catch. */
const FORWARDED: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGCONT", "SIGALRM", "SIGWINCH", "SIGPWR"];

const runCommand: OciCommand = {
  name: "run",
  usage: "run [--bundle DIR] [--pid-file FILE] [--detach] [--console-socket SOCK] [--preserve-fds N] <id>   (no linux.seccomp in config.json: no filter)",
  async run(ctx, argv) {
    const { values, positionals } = parseFlags(argv, { ...CREATE_FLAGS, detach: { type: "boolean", short: "d" }, keep: { type: "boolean" } });
    const id = oneId(positionals);
    // Signals are taken from the start, as runc's handler is: one that comes while the container is
    // being made waits and goes to the program once it runs, instead of killing this process.
    let target = 0;
    const pending: NodeJS.Signals[] = [];
    const forward = (sig: NodeJS.Signals) => {
      if (target === 0) {
        pending.push(sig);
        return;
      }
      try {
        process.kill(target, sig);
      } catch (e) {
        logLine(invocationFlags(), "debug", `forward ${sig} to ${id}: ${(e as Error).message}`);
      }
    };
    if (values.detach !== true) for (const sig of FORWARDED) process.on(sig, forward);
    const stopForwarding = () => {
      for (const sig of FORWARDED) process.removeListener(sig, forward);
    };
    const [{ ociStart, ociDelete }, libc, { PR_SET_CHILD_SUBREAPER }] = await Promise.all([
      import("../../runtime/oci/lifecycle.js"), import("../../sys/libc.js"), import("../../sys/constants.js"),
    ]);
    let created: Awaited<ReturnType<typeof create>>;
    try {
      // As runc: processes the program leaves behind come to this process, not to the host's init.
      if (values.detach !== true) libc.prctl(PR_SET_CHILD_SUBREAPER, 1);
      created = await create(ctx, id, values);
    } catch (err) {
      stopForwarding();
      throw err;
    }
    const pid = created.record.pid;
    const cleanup = async (why: string): Promise<void> => {
      stopForwarding();
      await created.detach();
      if (values.keep === true) return;
      await ociDelete(ctx.root, id, true).catch((e: unknown) => logLine(invocationFlags(), "warning", `container ${id} was not deleted ${why}: ${(e as Error).message}`));
    };
    // Detached, this process lets go of the init before it starts: a program that exits at once
    // must be reaped by the caller's subreaper, never by this process.
    if (values.detach === true) await created.detach();
    try {
      ociStart(ctx.root, id);
    } catch (err) {
      await cleanup("after its failed start");
      throw err;
    }
    if (values.detach === true) return 0;
    // This process is the init's parent: it forwards signals and returns the program's status.
    target = pid;
    for (const sig of pending.splice(0)) forward(sig);
    try {
      const exit = await created.exited;
      return exit.code ?? (exit.signal !== null ? 128 + signalNumber(exit.signal) : 255);
    } finally {
      await cleanup("after it exited");
    }
  },
};

const listCommand: OciCommand = {
  name: "list",
  usage: "list [--format table|json] [--quiet]",
  async run(ctx, argv) {
    const { values } = parseFlags(argv, { format: { type: "string", short: "f" }, quiet: { type: "boolean", short: "q" } }, false);
    if (values.format !== undefined && values.format !== "table" && values.format !== "json") throw new UsageError(`--format: ${values.format} is not table or json`);
    const { ociList } = await import("../../runtime/oci/lifecycle.js");
    const { containers: all, unreadable } = ociList(ctx.root);
    // As runc does: a container whose state cannot be loaded is a warning, never left out silently.
    for (const u of unreadable) process.stderr.write(`hostform-runtime list: warning: cannot load container ${u.id}: ${u.error.message}\n`);
    if (values.quiet === true) {
      for (const s of all) process.stdout.write(`${s.id}\n`);
      return 0;
    }
    if (values.format === "json") {
      printJson(all.map((s) => ({ ...s, owner: "root" })));
      return 0;
    }
    process.stdout.write("ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n");
    for (const s of all) process.stdout.write(`${s.id}\t${s.pid}\t${s.status}\t${s.bundle}\t${s.created}\troot\n`);
    return 0;
  },
};

const pauseCommand: OciCommand = {
  name: "pause",
  usage: "pause <id>",
  async run(ctx, argv) {
    const { positionals } = parseFlags(argv, {});
    const { ociPause } = await import("../../runtime/oci/lifecycle.js");
    await ociPause(ctx.root, oneId(positionals));
    return 0;
  },
};

const resumeCommand: OciCommand = {
  name: "resume",
  usage: "resume <id>",
  async run(ctx, argv) {
    const { positionals } = parseFlags(argv, {});
    const { ociResume } = await import("../../runtime/oci/lifecycle.js");
    await ociResume(ctx.root, oneId(positionals));
    return 0;
  },
};

/** exec's flags that take a value (long and short), to find where the command after the id begins. */
const EXEC_VALUE_FLAGS = new Set(["--process", "-p", "--pid-file", "--console-socket", "--cwd", "--env", "-e", "--user", "-u", "--cap", "-c", "--preserve-fds", "--additional-gids", "-g", "--apparmor", "--process-label", "--cgroup"]);

const execCommand: OciCommand = {
  name: "exec",
  usage: "exec [--process FILE] [--detach] [--pid-file FILE] [--tty --console-socket SOCK] [--preserve-fds N] [--cwd DIR] [--env K=V]... [--user UID[:GID]] [--cap CAP]... <id> [CMD...]",
  async run(ctx, argv) {
    const split = splitAtId(argv, EXEC_VALUE_FLAGS);
    const { values, positionals } = parseFlags(split.flags, {
      process: { type: "string", short: "p" },
      detach: { type: "boolean", short: "d" },
      "pid-file": { type: "string" },
      "console-socket": { type: "string" },
      tty: { type: "boolean", short: "t" },
      cwd: { type: "string" },
      env: { type: "string", short: "e", multiple: true },
      user: { type: "string", short: "u" },
      cap: { type: "string", short: "c", multiple: true },
      "preserve-fds": { type: "string" },
      "no-new-privs": { type: "boolean" },
      "additional-gids": { type: "string", short: "g", multiple: true },
      apparmor: { type: "string" },
      "process-label": { type: "string" },
      "ignore-paused": { type: "boolean" },
      cgroup: { type: "string" },
    });
    const id = oneId(positionals);
    const consoleSocket = values["console-socket"];
    // runc's rules: a detached terminal needs somewhere to send it; a socket needs a terminal.
    if (values.tty === true && consoleSocket === undefined) throw new ValidationError("--tty", "needs --console-socket to send the terminal's master to", "pass --console-socket PATH, or drop --tty");
    if (consoleSocket !== undefined && values.tty !== true && values.process === undefined) throw new ValidationError("--console-socket", "is only for a process with a terminal", "add --tty, or drop --console-socket");
    for (const flag of ["additional-gids", "apparmor", "process-label", "cgroup"] as const) {
      if (values[flag] !== undefined) throw new ValidationError(`--${flag}`, "is not supported by hostform-runtime exec", `drop --${flag}`);
    }
    const [{ ociExec }, { writePidFile }] = await Promise.all([import("../../runtime/oci/exec.js"), import("../../runtime/oci/create.js")]);
    const req: Parameters<typeof ociExec>[0] = {
      root: ctx.root, id, args: split.command, env: values.env ?? [], caps: values.cap ?? [], tty: values.tty === true, noNewPrivileges: values["no-new-privs"] === true, detach: values.detach === true,
    };
    if (values.process !== undefined) req.processFile = values.process;
    if (values["preserve-fds"] !== undefined) req.preserveFds = values["preserve-fds"];
    if (values.cwd !== undefined) req.cwd = values.cwd;
    if (values.user !== undefined) req.user = values.user;
    const { process: proc, release } = await ociExec(req);
    const terminal = proc.terminal;
    if (terminal !== undefined) {
      const { sendConsole } = await import("../../runtime/consoleSocket.js");
      try {
        if (consoleSocket === undefined) throw new ValidationError("process.terminal", "needs --console-socket to send the terminal's master to", "pass --console-socket PATH, or set terminal to false");
        sendConsole(consoleSocket, terminal.master);
      } catch (err) {
        proc.kill("SIGKILL");
        await proc.exited;
        await release();
        throw err;
      } finally {
        closeSync(terminal.master);
      }
    }
    writePidFile(values["pid-file"], proc.pid);
    if (values.detach === true) {
      // The process execs as this one lets go of it, and is the caller's subreaper's from then on.
      await release();
      return 0;
    }
    const forward = (sig: NodeJS.Signals) => proc.kill(sig);
    for (const sig of FORWARDED) process.on(sig, forward);
    try {
      const exit = await proc.exited;
      return exit.code ?? (exit.signal !== null ? 128 + signalNumber(exit.signal) : 255);
    } finally {
      for (const sig of FORWARDED) process.removeListener(sig, forward);
      await release();
    }
  },
};

const refused = (name: string, why: string): OciCommand => ({
  name,
  usage: `${name} <id>   (not supported: ${why})`,
  run() {
    throw new UsageError(`${name}: ${why}`);
  },
});

/** Every command `hostform-runtime` knows. */
export const OCI_COMMANDS: readonly OciCommand[] = [
  createCommand, startCommand, stateCommand, killCommand, deleteCommand, runCommand, listCommand, pauseCommand, resumeCommand, execCommand, ...OCI_INFO_COMMANDS,
  refused("checkpoint", "hostform has no CRIU support; stop the container instead"),
  refused("restore", "hostform has no CRIU support; create the container again"),
];

// `hostform exec`: runs a command inside a running container, found by id in its state file.
import { readFileSync } from "node:fs";
import { type Command, UsageError, parseFlags } from "../command";
import { openCgroupDriver } from "../../cgroup/driver";
import { SysError, ValidationError } from "../../sys/errors";
import { signalExitStatus } from "../../sys/signals";
import { ContainerNotRunningError } from "../../runtime/execTarget";
import { execInContainer, type ExecOptions, type ExecTarget } from "../../runtime/exec";
import { relayTerminal } from "../../runtime/ptyRelay";
import { readState, validateId, type ContainerState } from "../../runtime/state";

/**
 * The variables an exec adds: the declared ones and, with a terminal, TERM from the caller's own
 * environment (docker exec -t does the same) unless declared, so that programs inside draw for the
 * caller's terminal instead of assuming a dumb one.
 */
export function execEnv(declared: readonly string[] | undefined, tty: boolean, callerTerm: string | undefined): string[] {
  const out = [...(declared ?? [])];
  if (tty && !out.some((e) => e.startsWith("TERM="))) out.unshift(`TERM=${callerTerm !== undefined && callerTerm !== "" ? callerTerm : "xterm"}`);
  return out;
}

const USAGE = `Usage: hostform exec [-i] [-t] [--user U] [--env K=V]... [--cwd D] <container> -- <cmd> [args...]

Runs a command inside a running container: in all its namespaces (mount included), its cgroup,
with its seccomp filter, capabilities, no_new_privs and user. The command's exit code is
hostform's (128+N when it is killed by signal N).

  -i, --interactive   connect standard input
  -t, --tty           run on a new terminal of the container (relayed to this one)
  -u, --user U        uid[:gid] or name[:group] from the container's /etc/passwd and /etc/group
  -e, --env K=V       add or override an environment variable (repeatable)
  -w, --cwd D         working directory inside the container`;

/** What exec needs from a container's state (src/runtime/state.ts). */
export function execTargetOf(state: ContainerState): ExecTarget {
  // A created container's init has not built the container yet: there is nothing to join.
  if (state.status !== "running") throw new ContainerNotRunningError(state.pid, `(container ${state.id} is ${state.status})`);
  const paths = openCgroupDriver().paths(state.cgroup);
  const cgroupPaths = [...new Set([...(paths.v2 !== undefined ? [paths.v2] : []), ...Object.values(paths.v1)])];
  const target: ExecTarget = { pid: state.pid, spec: state.spec, cgroupPaths };
  if (state.pidStartTime > 0) target.pidStartTime = state.pidStartTime;
  if (state.seccompPath !== undefined) {
    try {
      target.seccompFilter = readFileSync(state.seccompPath);
    } catch (err) {
      throw SysError.fromNode(err, `read the seccomp filter of container ${state.id}`);
    }
  }
  return target;
}

function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return signal !== null ? signalExitStatus(signal) : 128;
}

export const execCommand: Command = {
  name: "exec",
  summary: "Run a command inside a running container",
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseFlags(argv, {
      interactive: { type: "boolean", short: "i" },
      tty: { type: "boolean", short: "t" },
      user: { type: "string", short: "u" },
      env: { type: "string", short: "e", multiple: true },
      cwd: { type: "string", short: "w" },
    });
    const [id, ...args] = positionals;
    if (id === undefined) throw new UsageError("exec needs a container id");
    if (args.length === 0) throw new UsageError("exec needs a command after the container id (hostform exec <container> -- cmd ...)");
    validateId(id, "container");
    const state = readState(id);
    if (state === undefined) throw new ValidationError("container", `no container ${id}`, "see `hostform-runtime list`");
    const target = execTargetOf(state);

    const tty = values.tty === true;
    const opts: ExecOptions = { args, tty };
    if (values.user !== undefined) opts.user = values.user;
    const env = execEnv(values.env, tty, process.env.TERM);
    if (env.length > 0) opts.env = env;
    if (values.cwd !== undefined) opts.cwd = values.cwd;
    if (tty && process.stdout.isTTY) opts.ttySize = { rows: process.stdout.rows, cols: process.stdout.columns };
    if (!tty) opts.stdio = [values.interactive === true ? "inherit" : "ignore", "inherit", "inherit"];

    const proc = await execInContainer(target, opts);
    // The program shares this terminal's process group without -t, so ^C reaches it directly;
    // signals sent to hostform alone are passed on.
    const forward = (sig: NodeJS.Signals): void => proc.kill(sig);
    const ignore = (): void => undefined;
    process.on("SIGTERM", forward).on("SIGHUP", forward).on("SIGINT", ignore).on("SIGQUIT", ignore);
    try {
      if (proc.terminal === undefined) {
        const exit = await proc.exited;
        return exitStatus(exit.code, exit.signal);
      }
      const relay = relayTerminal(proc.terminal.master, { ...(values.interactive === true ? { input: process.stdin } : {}), output: process.stdout });
      const exit = await proc.exited;
      // Output the program wrote just before exiting may still be in the pty: drain it, but do not
      // wait for a background process that keeps the terminal open.
      await Promise.race([relay.done, new Promise((r) => setTimeout(r, 500).unref())]);
      relay.stop();
      return exitStatus(exit.code, exit.signal);
    } finally {
      process.off("SIGTERM", forward).off("SIGHUP", forward).off("SIGINT", ignore).off("SIGQUIT", ignore);
    }
  },
};

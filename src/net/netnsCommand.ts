// One host networking tool (ip, iptables-save, cat) run to completion, in the caller's network
// namespace or, through nsenter, in another one (a test's "host" namespace, a container's).
import { spawn } from "node:child_process";
import { HostformError, registerErrorClass, TimeoutError } from "../sys/errors";
import type { ExecOptions } from "./cniExec";

/** Where a command runs: the same hostNetns option the CNI plugins take. */
export type NetnsOptions = ExecOptions;

/** A networking tool that exited non-zero: the command line, its status and what it printed. */
export class NetCommandError extends HostformError {
  constructor(
    readonly command: string,
    readonly status: number | null,
    readonly stderr: string,
  ) {
    super(`${command}: ${status === null ? "was killed" : `exited with ${status}`}${stderr !== "" ? `: ${stderr}` : ""}`);
  }
}
registerErrorClass(NetCommandError);

/** The tools live in sbin, which a service's PATH may lack. */
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const TIMEOUT_MS = 30_000;

/** argv, prefixed with nsenter when it must run in another network namespace. */
function inNetns(argv: readonly string[], options: NetnsOptions): string[] {
  return options.hostNetns !== undefined ? ["nsenter", `--net=${options.hostNetns}`, "--", ...argv] : [...argv];
}

/** Runs argv and resolves with its stdout; a non-zero exit is a NetCommandError. */
export function runNetCommand(argv: readonly string[], options: NetnsOptions = {}): Promise<string> {
  const full = inNetns(argv, options);
  const shown = full.join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn(full[0]!, full.slice(1), { env: { ...process.env, PATH, LC_ALL: "C" }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new TimeoutError(shown, TIMEOUT_MS, err.trim()));
    }, TIMEOUT_MS);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new HostformError(`could not run ${shown}: ${e.message}`, { cause: e }));
    });
    child.on("close", (status) => {
      clearTimeout(timer);
      if (status === 0) resolve(out);
      else reject(new NetCommandError(shown, status, err.trim().slice(0, 500)));
    });
  });
}

/** Runs an iproute2 query with -j and parses its JSON answer. */
export async function ipJson<T>(args: readonly string[], options: NetnsOptions = {}): Promise<T> {
  const argv = ["ip", "-j", ...args];
  const out = await runNetCommand(argv, options);
  try {
    // `ip -j` prints nothing at all (not "[]") for some empty listings.
    return JSON.parse(out.trim() === "" ? "[]" : out) as T;
  } catch (err) {
    throw new HostformError(`${argv.join(" ")} printed something that is not JSON: ${out.slice(0, 200)}`, { cause: err });
  }
}

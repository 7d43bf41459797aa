// `hostform-runtime exec`: one more process in a container, built from --process (an OCI process
// object, as podman, CRI-O and containerd's shim pass it) or from the command line. It is this
// process's child: with --detach this process exits and the new process goes to the caller's
// subreaper, as with runc; without, this process waits and returns its status.
import { readFileSync } from "node:fs";
import { ValidationError } from "../../sys/errors";
import { Executor, type ExecProcess } from "../exec";
import { validateSpec, type ContainerSpec } from "../spec";
import { ContainerStatusError, ociStatus } from "./lifecycle";
import { passedFds } from "./passedFds";
import { readJsonArgument } from "./jsonArgument";
import { loadOciRecord } from "./record";
import { seccompFilterPath } from "./root";

export interface OciExecRequest {
  root: string;
  id: string;
  /** Path of an OCI process JSON (--process); replaces the container's process whole. */
  processFile?: string;
  /** The command, when no --process is given. */
  args: string[];
  cwd?: string;
  /** KEY=VALUE entries appended to the process's env. */
  env: string[];
  /** "uid[:gid]" (--user). */
  user?: string;
  /** Capabilities added to the bounding, effective and permitted sets (--cap). */
  caps: string[];
  tty: boolean;
  noNewPrivileges: boolean;
  /** --detach: the process execs only once release() has let it go (see ExecOptions.detach). */
  detach: boolean;
  /** --preserve-fds as given. */
  preserveFds?: string;
}

/** The container's spec with the process to exec in place of its own, checked as create checks it. */
function execSpec(base: ContainerSpec, req: OciExecRequest): ContainerSpec {
  const spec = structuredClone(base);
  if (req.processFile !== undefined) {
    const checked = validateSpec({ ...structuredClone(base), process: readJsonArgument(req.processFile, "--process", "point it at an OCI process JSON file") });
    spec.process = checked.process;
  } else {
    if (req.args.length === 0) throw new ValidationError("command", "no command to run", "give --process FILE or the command after the container id");
    spec.process.args = [...req.args];
    spec.process.terminal = req.tty;
  }
  if (req.cwd !== undefined) spec.process.cwd = req.cwd;
  if (req.env.length > 0) spec.process.env = [...(spec.process.env ?? []), ...req.env];
  if (req.noNewPrivileges) spec.process.noNewPrivileges = true;
  if (req.caps.length > 0) {
    const caps = spec.process.capabilities ?? {};
    for (const set of ["bounding", "effective", "permitted"] as const) caps[set] = [...new Set([...(caps[set] ?? []), ...req.caps])];
    spec.process.capabilities = caps;
  }
  // Checked whole again: --cwd, --env and --cap are spec fields too.
  return validateSpec(spec);
}

/** The started process, and how to let it go (this process may then exit; the process stays). */
export interface OciExecution {
  process: ExecProcess;
  release(): Promise<void>;
}

export async function ociExec(req: OciExecRequest): Promise<OciExecution> {
  const rec = loadOciRecord(req.root, req.id);
  const status = ociStatus(req.root, rec);
  if (status === "stopped" || status === "paused" || status === "creating") throw new ContainerStatusError(req.id, status, `cannot exec in a ${status} container`);
  const spec = execSpec(rec.spec, req);
  // runc's exec passes --preserve-fds only: socket activation is the container's start's.
  const passed = passedFds(req.preserveFds, {});
  const executor = new Executor();
  try {
    const process = await executor.exec(
      { pid: rec.pid, pidStartTime: rec.pidStartTime, spec, ...(rec.seccomp ? { seccompFilter: readFileSync(seccompFilterPath(req.root, req.id)) } : {}) },
      {
        args: spec.process.args, cwd: spec.process.cwd, tty: spec.process.terminal === true, stdio: ["inherit", "inherit", "inherit"], detach: req.detach, extraFds: passed.fds,
        ...(req.user !== undefined ? { user: req.user } : {}),
      },
    );
    // Closing the worker ends the exit reporting, not the process: it stays this process's child.
    return { process, release: () => executor.close() };
  } catch (err) {
    await executor.close();
    throw err;
  }
}

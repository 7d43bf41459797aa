// `hostform-runtime create` in runc's process model: this process builds the container through a
// Launcher of its own (no supervisor), leaves the init waiting on the exec fifo, and exits. The
// init is its child, so when it exits the init goes to the caller's child subreaper (conmon,
// containerd's shim), which waits for it like any runc container. `run` keeps the launcher and
// stays the init's parent instead.
import { closeSync, constants as fsConstants, openSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import * as libc from "../../sys/libc";
import { O_CLOEXEC } from "../../sys/terminal";
import { connectUnix } from "../../sys/unixSocket";
import { atomicWrite } from "../../sys/atomicFile";
import { ValidationError, afterUndo } from "../../sys/errors";
import { limitsFromOci, type CgroupLimits } from "../../cgroup/spec";
import { compileContainerFilter } from "../client";
import { ociDeviceRules } from "../deviceRules";
import { runHooks } from "../hooks";
import { Launcher, type ContainerExit } from "../launcher";
import { checkRoot } from "../lifecycleChecks";
import { processStartTime } from "../state";
import { validateSpec, type ContainerSpec } from "../spec";
import { ociCgroupName, ociCgroups } from "./cgroupPath";
import { readJsonArgument } from "./jsonArgument";
import { passedFds, withListenEnv } from "./passedFds";
import { hookState, makeOciContainerDir, removeOciContainerDir, writeOciRecord, type OciRecord } from "./record";
import { execFifoPath, seccompFilterPath } from "./root";

export interface OciCreateRequest {
  root: string;
  id: string;
  /** Directory holding config.json; a relative root.path is resolved against it. */
  bundle: string;
  pidFile?: string;
  /** --preserve-fds as given. */
  preserveFds?: string;
  /** --console-socket: where the terminal's master goes (process.terminal). */
  consoleSocket?: string;
}

/** A created container, its init waiting on the exec fifo. */
export interface OciCreated {
  record: OciRecord;
  /** Settles when the init (or the program it became) exits, while this process is its parent. */
  exited: Promise<ContainerExit>;
  /** What the init did differently from the spec without failing (runc logs these as warnings). */
  warnings: string[];
  /** Lets this process exit without taking the init along (it stays, waiting for start). */
  detach(): Promise<void>;
}

const S_IFIFO = 0o010000;

/** config.json of the bundle, parsed; errors name --bundle or the file. */
export function readBundleConfig(bundle: string): unknown {
  return readJsonArgument(join(bundle, "config.json"), "--bundle", "point --bundle at a directory holding config.json");
}

/** The limits the cgroup gets: linux.resources, and runc's device rules always. */
function cgroupLimits(spec: ContainerSpec): CgroupLimits {
  // src/cgroup's limit groups are read only when the spec sets resources.
  const limits = spec.linux?.resources === undefined ? undefined : limitsFromOci(spec.linux.resources, "linux.resources", ["devices"]);
  return { ...limits, devices: ociDeviceRules(spec) };
}

function hasRuntimeHooks(spec: ContainerSpec): boolean {
  return (spec.hooks?.prestart?.length ?? 0) + (spec.hooks?.createRuntime?.length ?? 0) > 0;
}

/** Writes the pid file atomically, as runc does: tools poll for it and must never read half of it. */
export function writePidFile(path: string | undefined, pid: number): void {
  if (path !== undefined) atomicWrite(resolve(path), String(pid), { mode: 0o644 });
}

export async function ociCreate(req: OciCreateRequest): Promise<OciCreated> {
  const { root, id } = req;
  const bundle = resolve(req.bundle);
  const raw = readBundleConfig(bundle);
  const spec = validateSpec(raw);
  spec.root.path = checkRoot(spec, bundle);
  const cgroup = ociCgroupName(spec, id);
  const limits = cgroupLimits(spec);
  const cgroups = ociCgroups();
  cgroups.normalize(limits, "linux.resources");
  const passed = passedFds(req.preserveFds);
  spec.process.env = withListenEnv(spec.process.env ?? [], passed.listenFds);
  // As an OCI runtime: the spec's filter or none (RuntimeClient's default profile is hostform's API's, not runc's).
  const filter = spec.linux?.seccomp === undefined ? undefined : compileContainerFilter(raw, undefined);

  makeOciContainerDir(root, id);
  const ownsCgroup = !cgroups.exists(cgroup);
  let launcher: Launcher | undefined;
  let fifo = -1;
  let consoleSocket = -1;
  const closeConsoleSocket = (): void => {
    if (consoleSocket >= 0) closeSync(consoleSocket);
    consoleSocket = -1;
  };
  const undo = async (): Promise<void> => {
    if (fifo >= 0) closeSync(fifo);
    closeConsoleSocket();
    await launcher?.close();
    if (ownsCgroup && cgroups.exists(cgroup)) {
      await cgroups.kill(cgroup);
      await cgroups.delete(cgroup);
    }
    removeOciContainerDir(root, id);
  };
  try {
    // A first record before the cgroup or any process: a create killed from here on leaves
    // something delete --force can clean (the cgroup and whatever waits in it), never a nameless init.
    const early: OciRecord = {
      ociVersion: spec.ociVersion, id, pid: 0, pidStartTime: 0, bundle, rootfs: spec.root.path,
      created: new Date().toISOString(), annotations: spec.annotations ?? {}, cgroup, ownsCgroup, seccomp: filter !== undefined, spec,
    };
    writeOciRecord(root, early);
    cgroups.create(cgroup, limits);
    if (filter !== undefined) writeFileSync(seccompFilterPath(root, id), filter, { mode: 0o600 });
    const fifoPath = execFifoPath(root, id);
    libc.mknod(fifoPath, S_IFIFO | 0o622, 0, 0);
    // Read-write: open() of a fifo does not block that way, and the init's copy never sees EOF while it waits.
    fifo = openSync(fifoPath, fsConstants.O_RDWR | O_CLOEXEC);
    if (req.consoleSocket !== undefined) consoleSocket = connectUnix(resolve(req.consoleSocket));
    launcher = new Launcher({ poolSize: 0 });
    const prepared = await launcher.prepare(spec, {
      stdio: ["inherit", "inherit", "inherit"],
      bundle,
      ...(filter !== undefined ? { seccompFilter: filter } : {}),
      startFifo: fifo,
      extraFds: passed.fds,
      onCgroup: (pid) => cgroups.addProcess(cgroup, pid),
      ...(consoleSocket >= 0 ? { consoleSocket } : {}),
      hookState: JSON.stringify(hookState(early, "creating")),
      ...(hasRuntimeHooks(spec)
        ? {
            onRuntimeHooks: (pid: number) => {
              const state = hookState(early, "creating", pid);
              runHooks("prestart", spec.hooks?.prestart, state);
              runHooks("createRuntime", spec.hooks?.createRuntime, state);
            },
          }
        : {}),
    }).catch((err: unknown) => {
      throw err instanceof ValidationError && err.field === "consoleSocket" ? err.renamed("--console-socket") : err;
    });
    closeSync(fifo);
    fifo = -1;
    // The init has sent the master and closed its copy: the caller's end sees the connection end.
    closeConsoleSocket();
    const record: OciRecord = { ...early, pid: prepared.pid, pidStartTime: processStartTime(prepared.pid) ?? 0, created: new Date().toISOString() };
    const l = launcher;
    try {
      writeOciRecord(root, record);
      writePidFile(req.pidFile, prepared.pid);
    } catch (err) {
      await prepared.abort();
      throw err;
    }
    return {
      record,
      exited: prepared.exited,
      warnings: prepared.warnings,
      detach: () => l.close({ killRunning: false }),
    };
  } catch (err) {
    throw await afterUndo(err, `undo create of container ${id}`, undo);
  }
}

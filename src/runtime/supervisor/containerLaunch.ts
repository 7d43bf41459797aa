// Starting containers through the Launcher: a waiting init placed in the container's cgroup
// ("created"), then the program exec'd ("running"). Owns the launcher and its pool of warm inits,
// which it keeps only while creates are coming in (an idle init costs ~40 MB).
import { readFileSync } from "node:fs";
import { SysError, ValidationError } from "../../sys/errors";
import type { CgroupDriver } from "../../cgroup/driver";
import { Launcher, type ContainerExit, type LaunchOptions } from "../launcher";
import { mountContainerRoot, nextAutoSpec } from "./containerSetup";
import type { ContainerSpec } from "../spec";
import { containerDir, processStartTime } from "../state";
import type { ContainerRecord } from "./containerRecord";
import { closeStdio, openStdio } from "./containerStdio";

export class ContainerLaunch {
  private launcher?: Launcher;
  private lastUse = 0;

  /** @param poolIdleMs how long the warm init is kept after the last create or start. */
  constructor(
    private readonly cgroups: () => CgroupDriver,
    private readonly poolIdleMs: number,
  ) {}

  /**
   * Builds the container up to "created": stdio opened, an init placed in its cgroup and waiting.
   * onInitExit is called if that init dies before start (killed, or its launcher went away).
   */
  async prepare(rec: ContainerRecord, onInitExit: (exit: ContainerExit) => void): Promise<void> {
    const launcher = this.theLauncher();
    // A warm init for the start that usually follows, and for the next create; dropped when idle.
    launcher.setPoolSize(1);
    // Mounted at create; again here when it went since (a reboot with a lasting run dir, or an unmount by hand).
    await mountContainerRoot(containerDir(rec.id), rec.state);
    closeStdio(rec.stdioFds);
    const stdio = openStdio(rec.state);
    rec.stdioFds = stdio.fds;
    const opts: LaunchOptions = {
      stdio: stdio.choices,
      bundle: rec.state.bundle,
      onCgroup: (pid) => this.cgroups().addProcess(rec.state.cgroup, pid),
    };
    if (rec.state.seccompPath !== undefined) opts.seccompFilter = readSeccompFilter(rec.state.seccompPath);
    const prepared = await launcher.prepare(rec.state.spec, opts);
    this.lastUse = Date.now();
    // A warm init waits for the mapping the next userns "auto" container will get: each gets its
    // own, so the one just used would warm nothing.
    if (rec.state.usernsAuto === true) this.warmNextAuto(launcher, rec.state.spec);
    rec.toCreated(prepared, processStartTime(prepared.pid) ?? 0);
    void prepared.exited.then((exit) => {
      if (rec.prepared === prepared && rec.state.status === "created") onInitExit(exit);
    });
  }

  /** Lets the created container's init exec the program; onExit is called when that run ends. */
  async start(rec: ContainerRecord, onExit: (exit: ContainerExit) => void): Promise<void> {
    const prepared = rec.prepared;
    if (rec.state.status !== "created" || prepared === undefined) {
      throw new ValidationError("id", `container ${rec.id} is ${rec.state.status}, not created`, "only a created container can be started");
    }
    // From here the init's exit is the program's (a program may exit before start() returns): it is
    // start's outcome, seen through launched.exited or a failed start, not an init dying before start.
    rec.prepared = undefined;
    let launched;
    try {
      launched = await prepared.start();
    } catch (err) {
      closeStdio(rec.stdioFds);
      rec.toStopped({ code: null, signal: null }, `start failed: ${(err as Error).message}`);
      throw err;
    } finally {
      this.lastUse = Date.now();
    }
    closeStdio(rec.stdioFds);
    rec.toRunning(launched);
    void launched.exited.then((exit) => {
      if (rec.launched === launched) onExit(exit);
    });
  }

  private warmNextAuto(launcher: Launcher, spec: ContainerSpec): void {
    let next: ContainerSpec;
    try {
      next = nextAutoSpec(spec);
    } catch {
      // No block left: the next "auto" create fails by itself, with the reason.
      return;
    }
    void launcher.warmFor(next).catch(() => undefined);
  }

  /** Drops the warm init once no create or start came for poolIdleMs. */
  dropIdleInits(): void {
    if (this.launcher !== undefined && this.launcher.idleCount() > 0 && Date.now() - this.lastUse > this.poolIdleMs) this.launcher.setPoolSize(0);
  }

  /** Kills idle inits and stops the launcher's worker; running containers are left alone. */
  async close(): Promise<void> {
    await this.launcher?.close({ killRunning: false });
  }

  private theLauncher(): Launcher {
    this.launcher ??= new Launcher({ poolSize: 0 });
    return this.launcher;
  }
}

function readSeccompFilter(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw SysError.fromNode(err, "read the container's seccomp filter");
  }
}

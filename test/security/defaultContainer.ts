// Runs programs in a DEFAULT container exactly as hostform would start one: defaultSpec (Docker's 14
// capabilities, no_new_privs, masked and read-only paths), the built-in Docker default seccomp profile
// compiled for those capabilities, and a cgroup of its own with pids and memory limits. Each run gets
// a fresh cgroup named with the test prefix and removed after the container is gone.
import assert from "node:assert/strict";
import { closeSync, openSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Launcher, type LaunchedContainer, type StdioChoice } from "../../src/runtime/launcher";
import type { ContainerSpec } from "../../src/runtime/spec";
import { defaultSpec } from "../../src/runtime/specgen/defaults";
import { openCgroupDriver, type CgroupDriver } from "../../src/cgroup/driver";
import type { CgroupLimits } from "../../src/cgroup/spec";
import { compileProfile } from "../../src/seccomp/compile";
import { loadProfile } from "../../src/seccomp/validate";
import { makeFullBusyboxBundle } from "./busyboxRoot";
import { chmodSync, mkdirSync } from "node:fs";
import { mountIdmappedRoot } from "../../src/runtime/idmappedRoot";
import { unmountRootOverlay } from "../../src/runtime/rootOverlay";
import { autoBlocks } from "../../src/ns/subordinateIds";
import { blockMappings, pickAutoRange } from "../../src/ns/autoRange";
import type { IdMapping } from "../../src/runtime/specUserNamespace";
import { assertNoMountsOf, assertProcessesGone } from "../helpers/leftovers";

/** Limits every default container of the suite runs under unless a test asks for others. */
export const DEFAULT_LIMITS: CgroupLimits = { pids: { max: 64 }, memory: { max: "64Mi", swapMax: 0 } };

/** What a finished container left: exit, stdout and stderr, and the cgroup it ran in. */
export interface RunResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** A running default container and the cgroup holding it. */
export interface Started {
  container: LaunchedContainer;
  cgroup: string;
  stdoutFile: string;
  stderrFile: string;
  /** With userns "auto": its uid (and gid) mappings. */
  mappings?: IdMapping[];
}

export interface DefaultContainersOptions {
  /**
   * "auto": each container gets a user namespace with a block of hostform's /etc/subuid range and an
   * ID-mapped view of the rootfs, as the supervisor gives a Container with userns "auto" (issue 16).
   */
  userns?: "auto";
}

export class DefaultContainers {
  readonly driver: CgroupDriver = openCgroupDriver();
  readonly launcher = new Launcher({ poolSize: 1 });
  readonly bundle: string;
  readonly rootfs: string;
  /** Host PIDs of every container started, to prove none outlives its test. */
  readonly pids: number[] = [];
  /** Cgroups not removed yet. */
  private readonly cgroups = new Set<string>();
  /** Cgroups made since the last assertNothingLeft, to prove each is gone from the kernel. */
  private made: string[] = [];
  /** How many of `pids` the last assertNothingLeft covered. */
  private checkedPids = 0;
  private readonly seccomp: Buffer;
  private seq = 0;

  /** Mappings of the userns "auto" containers not removed yet, by cgroup. */
  private readonly mapped = new Map<string, { dir: string; mappings: IdMapping[] }>();

  constructor(readonly prefix: string, readonly options: DefaultContainersOptions = {}) {
    ({ bundle: this.bundle, rootfs: this.rootfs } = makeFullBusyboxBundle(prefix));
    // The mapped root of a userns container reaches its ID-mapped root through the bundle.
    if (options.userns === "auto") chmodSync(this.bundle, 0o711);
    this.seccomp = compileProfile(loadProfile("docker-default"), { caps: "default" }).bpf;
  }

  /** Docker's defaults for `args`, with the suite's hostname. */
  spec(args: string[]): ContainerSpec {
    return defaultSpec({ rootfs: this.rootfs, args, hostname: `${this.prefix}`.slice(0, 63) });
  }

  /** Starts a container in a fresh cgroup; stdout and stderr go to files in the bundle unless `stdio` says otherwise. */
  async start(s: ContainerSpec, limits: CgroupLimits = DEFAULT_LIMITS, stdio?: [StdioChoice, StdioChoice, StdioChoice]): Promise<Started> {
    const n = this.seq++;
    const cgroup = `${this.prefix}-${n}`;
    this.driver.create(cgroup, limits);
    this.cgroups.add(cgroup);
    this.made.push(cgroup);
    const stdoutFile = join(this.bundle, `stdout-${n}`);
    const stderrFile = join(this.bundle, `stderr-${n}`);
    let mappings: IdMapping[] | undefined;
    if (this.options.userns === "auto") {
      const taken = [...this.mapped.values()].flatMap((m) => m.mappings);
      mappings = blockMappings(pickAutoRange(autoBlocks(), taken));
      const dir = join(this.bundle, `userns-${n}`);
      mkdirSync(dir, { mode: 0o711 });
      this.mapped.set(cgroup, { dir, mappings });
      const root = await mountIdmappedRoot(dir, { rootDir: this.rootfs }, mappings, mappings);
      s = { ...s, root: { ...s.root, path: root }, linux: { ...s.linux, namespaces: [...(s.linux?.namespaces ?? []), { type: "user" }], uidMappings: mappings, gidMappings: mappings } };
    }
    const out = openSync(stdoutFile, "w+");
    const err = openSync(stderrFile, "w+");
    try {
      const container = await this.launcher.launch(s, {
        stdio: stdio ?? ["ignore", out, err],
        seccompFilter: this.seccomp,
        onCgroup: (pid) => {
          this.pids.push(pid);
          return this.driver.addProcess(cgroup, pid);
        },
      });
      return mappings === undefined ? { container, cgroup, stdoutFile, stderrFile } : { container, cgroup, stdoutFile, stderrFile, mappings };
    } finally {
      closeSync(out);
      closeSync(err);
    }
  }

  /** Kills what is left in the container's cgroup and removes the cgroup (and an ID-mapped root). */
  async remove(cgroup: string): Promise<void> {
    if (!this.cgroups.has(cgroup)) return;
    if (this.driver.exists(cgroup)) {
      await this.driver.kill(cgroup);
      await this.driver.delete(cgroup);
    }
    this.cgroups.delete(cgroup);
    const mapped = this.mapped.get(cgroup);
    if (mapped !== undefined) {
      unmountRootOverlay(mapped.dir);
      this.mapped.delete(cgroup);
    }
  }

  /** Runs a container to completion (default limits), then removes its cgroup. */
  run(args: string[], limits?: CgroupLimits): Promise<RunResult> {
    return this.runSpec(this.spec(args), limits);
  }

  /** Runs a container of the given spec to completion, then removes its cgroup. */
  async runSpec(spec: ContainerSpec, limits?: CgroupLimits): Promise<RunResult> {
    const s = await this.start(spec, limits);
    try {
      const exit = await s.container.exited;
      return { ...exit, stdout: readFileSync(s.stdoutFile, "utf8"), stderr: readFileSync(s.stderrFile, "utf8") };
    } finally {
      await this.remove(s.cgroup);
    }
  }

  /** Runs `sh -c script`. */
  sh(script: string, limits?: CgroupLimits): Promise<RunResult> {
    return this.run(["sh", "-c", script], limits);
  }

  /**
   * Asserts that nothing of the containers started since the last call is left: no PID 1 (given a
   * moment to be reaped on a busy machine), no cgroup, no mount of the bundle on the host. For
   * afterEach, so that a leak fails the test that made it; what leaked is removed first, so the
   * tests after it start clean.
   */
  async assertNothingLeft(): Promise<void> {
    const pids = this.pids.slice(this.checkedPids);
    const made = this.made;
    this.checkedPids = this.pids.length;
    this.made = [];
    await assertProcessesGone(pids, "container processes left");
    const cgroups = made.filter((c) => this.cgroups.has(c) || this.driver.exists(c));
    for (const c of cgroups) {
      this.cgroups.add(c);
      await this.remove(c);
    }
    assert.deepEqual(cgroups, [], "cgroups left");
    assertNoMountsOf(this.prefix);
  }

  /** Kills every container and cgroup still around, stops the launcher and removes the bundle. */
  async close(): Promise<void> {
    try {
      for (const cgroup of [...this.cgroups]) await this.remove(cgroup);
      await this.launcher.close();
    } finally {
      rmSync(this.bundle, { recursive: true, force: true });
    }
  }
}

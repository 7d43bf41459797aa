// What the supervisor tests share: a busybox bundle, a prefixed run dir of their own (so they never
// talk to another test's supervisor or to a real one), and a cleanup that removes everything the
// test made even when it failed: containers, their cgroups, the supervisor, the run dir.
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RuntimeClient } from "../../src/runtime/client";
import type { ContainerSpec } from "../../src/runtime/spec";
import { defaultSpec, type DefaultSpecOptions } from "../../src/runtime/specgen/defaults";
import { isSameProcess, listStateIds, readState, removeContainerDir } from "../../src/runtime/state";
import { openCgroupDriver } from "../../src/cgroup/driver";
import { testPrefix } from "../../fixtures/prefix";
import { makeBusyboxBundle } from "../../fixtures/busyboxRootfs";

export interface SupervisorFixture {
  prefix: string;
  bundle: string;
  rootfs: string;
  runDir: string;
  client: RuntimeClient;
  /** A container id carrying the test prefix. */
  id(name: string): string;
  spec(args: string[], extra?: Partial<DefaultSpecOptions>): ContainerSpec;
  /** pid of the supervisor holding the run dir's lock, if one runs. */
  supervisorPid(): number | undefined;
  cleanup(): Promise<void>;
}

/** Polls fn until it returns true or the time is up. */
export async function until(fn: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 50): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return fn();
}

/** The live supervisor of runDir, from its lock ("<pid> <start time>"); undefined when none runs. */
export function supervisorPidIn(runDir: string): number | undefined {
  try {
    const [p, t] = readFileSync(join(runDir, "supervisor.lock"), "utf8").trim().split(" ").map(Number);
    return p !== undefined && t !== undefined && isSameProcess(p, t) ? p : undefined;
  } catch {
    return undefined;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function makeSupervisorFixture(what: string): SupervisorFixture {
  const prefix = testPrefix(what);
  const { bundle, rootfs } = makeBusyboxBundle(prefix);
  const runDir = join(tmpdir(), `${prefix}-run`);
  // The supervisor is spawned with this environment: it must use the test's run dir.
  process.env.HOSTFORM_RUN_DIR = runDir;
  const client = new RuntimeClient({ runDir });
  let seq = 0;
  const lockPid = (): number | undefined => supervisorPidIn(runDir);
  return {
    prefix, bundle, rootfs, runDir, client,
    id: (name) => `${prefix}-${name}-${seq++}`,
    spec: (args, extra = {}) => defaultSpec({ rootfs, args, hostname: "t", ...extra }),
    supervisorPid: lockPid,
    async cleanup() {
      const ids = listStateIds();
      for (const id of ids) await client.delete(id, { force: true }).catch(() => undefined);
      // Whatever the supervisor could not remove: kill processes recorded in state, remove cgroups.
      const driver = openCgroupDriver();
      for (const id of listStateIds()) {
        const s = readState(id);
        if (s === undefined) continue;
        if (s.pid > 0 && isSameProcess(s.pid, s.pidStartTime)) process.kill(s.pid, "SIGKILL");
        if (s.ownsCgroup && s.cgroup.startsWith(prefix) && driver.exists(s.cgroup)) {
          await driver.kill(s.cgroup).catch(() => undefined);
          await driver.delete(s.cgroup).catch(() => undefined);
        }
      }
      const pid = lockPid();
      await client.shutdownSupervisor().catch(() => undefined);
      if (pid !== undefined && !(await until(() => !pidAlive(pid), 5000))) process.kill(pid, "SIGKILL");
      // A copy-on-write root left mounted by a failed test goes with its directory, unmounted first.
      for (const id of listStateIds()) removeContainerDir(id);
      rmSync(runDir, { recursive: true, force: true });
      rmSync(bundle, { recursive: true, force: true });
    },
  };
}

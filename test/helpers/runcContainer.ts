// A runc container to compare hostform's view of a cgroup with runc's own: busybox `sleep`, state in
// the bundle (never /run/runc), its cgroup at /<id> from the hierarchies' roots (runc removes it on
// delete). runc runs in the foreground, so it reaps the container itself.
import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeBusyboxBundle } from "../../fixtures/busyboxRootfs";
import { RUNC_SPEC_CONFIG } from "../../fixtures/runcSpec";

export interface RuncContainer {
  id: string;
  /** Host pid of the container's process. */
  pid: number;
  /** runc --root <private> ...args */
  runc(args: string[], input?: string): SpawnSyncReturns<string>;
  /** Kills and deletes the container, waits for runc, removes the bundle. */
  stop(): Promise<void>;
}

export const hasRunc: boolean = spawnSync("runc", ["--version"]).status === 0;

export async function startRuncContainer(id: string, resources: Record<string, unknown>): Promise<RuncContainer> {
  const { bundle } = makeBusyboxBundle(id);
  const root = join(bundle, "runc-root");
  const config = structuredClone(RUNC_SPEC_CONFIG) as unknown as { process: Record<string, unknown>; linux: Record<string, unknown> };
  config.process.terminal = false;
  config.process.args = ["sleep", "1000"];
  config.linux.cgroupsPath = `/${id}`;
  config.linux.resources = { ...(config.linux.resources as object), ...resources };
  writeFileSync(join(bundle, "config.json"), JSON.stringify(config));
  const runc = (args: string[], input?: string): SpawnSyncReturns<string> => spawnSync("runc", ["--root", root, ...args], { encoding: "utf8", ...(input !== undefined ? { input } : {}) });
  const child = spawn("runc", ["--root", root, "run", "--bundle", bundle, id], { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()).on("error", () => resolve()));
  const stop = async (): Promise<void> => {
    runc(["kill", id, "KILL"]);
    await exited;
    runc(["delete", "--force", id]);
    rmSync(bundle, { recursive: true, force: true });
  };
  for (let i = 0; i < 250; i++) {
    const s = runc(["state", id]);
    if (s.status === 0) {
      const state = JSON.parse(s.stdout) as { status: string; pid: number };
      if (state.status === "running") return { id, pid: state.pid, runc, stop };
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await stop();
  throw new Error(`runc container ${id} did not start`);
}

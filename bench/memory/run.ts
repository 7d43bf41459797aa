// bench/memory: with N sleeping containers (busybox `sleep 1000`) running under the shared
// supervisor, the memory of every hostform process that is not a container process (the
// supervisor and any pool init), divided by N. Compared with conmon (1.0 MB PSS per container)
// and `runc run` in the foreground (10 MB), DESIGN.md section 7. Target: <= 1.0 MB PSS.
//   node dist/bench/memory/run.js [containers=50] [--variants]
// --variants also measures the supervisor with no V8 flags, without --jitless, and with --v8-pool-size=1.
import { readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RuntimeClient } from "../../src/runtime/client";
import { defaultSpec } from "../../src/runtime/specgen/defaults";
import { SUPERVISOR_NODE_FLAGS } from "../../src/runtime/supervisorStart";
import { isSameProcess, listStateIds, readState } from "../../src/runtime/state";
import { testPrefix } from "../../fixtures/prefix";
import { makeBusyboxBundle } from "../../fixtures/busyboxRootfs";

interface Mem {
  pss: number;
  rss: number;
  /** Private_Clean + Private_Dirty: what this process alone costs. */
  uss: number;
}

function rollup(pid: number): Mem {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
  return { pss: kb("Pss"), rss: kb("Rss"), uss: kb("Private_Clean") + kb("Private_Dirty") };
}

function ppidOf(pid: number): number | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/** The supervisor and its descendants that are not containers (pool inits). */
function hostformProcesses(supervisor: number, containers: Set<number>): number[] {
  const out = [supervisor];
  const all = readdirSync("/proc").filter((n) => /^\d+$/.test(n)).map(Number);
  let frontier = [supervisor];
  while (frontier.length > 0) {
    const next = all.filter((p) => frontier.includes(ppidOf(p) ?? -1) && !containers.has(p));
    out.push(...next);
    frontier = next;
  }
  return out;
}

function mb(kb: number): string {
  return `${(kb / 1024).toFixed(2)} MB`;
}

async function measure(label: string, flags: readonly string[], count: number, rootfs: string, prefix: string): Promise<void> {
  const runDir = join(tmpdir(), `${prefix}-${label}-run`);
  process.env.HOSTFORM_RUN_DIR = runDir;
  process.env.HOSTFORM_SUPERVISOR_NODE_FLAGS = flags.join(" ");
  const client = new RuntimeClient({ runDir });
  const ids: string[] = [];
  try {
    const t0 = Date.now();
    const pids = new Set<number>();
    for (let i = 0; i < count; i++) {
      const id = `${prefix}-${label}-${i}`;
      ids.push(id);
      await client.create(id, defaultSpec({ rootfs, args: ["sleep", "1000"] }));
      pids.add((await client.start(id)).pid);
    }
    const startMs = Date.now() - t0;
    // The warm pool is dropped a few seconds after the last launch; measure the steady state.
    await new Promise((r) => setTimeout(r, 5000));
    const sup = await client.supervisorPid();
    const procs = hostformProcesses(sup, pids);
    const total = procs.map(rollup).reduce((a, m) => ({ pss: a.pss + m.pss, rss: a.rss + m.rss, uss: a.uss + m.uss }), { pss: 0, rss: 0, uss: 0 });
    const alive = [...pids].filter((p) => ppidOf(p) !== undefined).length;
    console.log(`${label.padEnd(10)} flags: ${flags.join(" ") || "(none)"}`);
    console.log(`  ${alive}/${count} containers running (started in ${(startMs / 1000).toFixed(1)} s); hostform processes: ${procs.length} (supervisor ${sup}${procs.length > 1 ? ` + ${procs.length - 1} pool inits` : ""})`);
    console.log(`  total  PSS ${mb(total.pss)}  USS ${mb(total.uss)}  RSS ${mb(total.rss)}`);
    console.log(`  per container: PSS ${mb(total.pss / count)} (target <= 1.00 MB; conmon 1.00 MB PSS, runc run foreground 10 MB)  USS ${mb(total.uss / count)}  RSS ${mb(total.rss / count)}`);
  } finally {
    for (const id of ids) await client.delete(id, { force: true }).catch(() => undefined);
    for (const id of listStateIds()) {
      const s = readState(id);
      if (s !== undefined && s.pid > 0 && isSameProcess(s.pid, s.pidStartTime)) process.kill(s.pid, "SIGKILL");
    }
    await client.shutdownSupervisor().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    rmSync(runDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const count = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 50);
  const variants = process.argv.includes("--variants");
  const prefix = testPrefix("benchmem");
  const { bundle, rootfs } = makeBusyboxBundle(prefix);
  try {
    console.log(`bench/memory: ${count} containers running busybox sleep 1000 (the bench process is a node too: it shares the node binary's pages, which lowers PSS; USS excludes all sharing)`);
    await measure("default", SUPERVISOR_NODE_FLAGS, count, rootfs, prefix);
    if (variants) {
      await measure("noflags", [], count, rootfs, prefix);
      await measure("withjit", SUPERVISOR_NODE_FLAGS.filter((x) => x !== "--jitless"), count, rootfs, prefix);
      await measure("v8pool1", [...SUPERVISOR_NODE_FLAGS, "--v8-pool-size=1"], count, rootfs, prefix);
    }
  } finally {
    rmSync(bundle, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

import { type Command, parseFlags, printJson, printTable } from "../command";
import { RuntimeClient } from "../../runtime/client";
import { openCgroupDriver } from "../../cgroup/driver";
import type { ContainerState } from "../../runtime/state";

/** Usage of one container's cgroup, as `hostform stats` reports it. */
export interface ContainerStats {
  id: string;
  cgroup: string;
  /** CPU use over the sampling interval, in percent of one core. */
  cpuPercent: number | null;
  memoryBytes: number | null;
  memoryLimitBytes: number | null;
  pids: number | null;
}

function mib(n: number | null): string {
  return n === null ? "-" : `${(n / 1024 / 1024).toFixed(1)}MiB`;
}

/** Samples cpu usage twice, `intervalMs` apart, like `docker stats --no-stream`. */
export async function containerStats(list: ContainerState[], intervalMs = 500): Promise<ContainerStats[]> {
  const driver = openCgroupDriver();
  const running = list.filter((s) => s.status === "running" && driver.exists(s.cgroup));
  const before = new Map(running.map((s) => [s.id, driver.stats(s.cgroup).cpu?.usageUsec]));
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, intervalMs));
  const elapsedUs = Number(process.hrtime.bigint() - t0) / 1000;
  return running.map((s) => {
    const st = driver.stats(s.cgroup);
    const b = before.get(s.id);
    const a = st.cpu?.usageUsec;
    const max = driver.read(s.cgroup).memory?.max;
    return {
      id: s.id,
      cgroup: s.cgroup,
      cpuPercent: a !== undefined && b !== undefined ? Math.round(((a - b) / elapsedUs) * 10000) / 100 : null,
      memoryBytes: st.memory?.current ?? null,
      memoryLimitBytes: typeof max === "number" ? max : null,
      pids: st.pids?.current ?? null,
    };
  });
}

function printStats(stats: ContainerStats[], json: boolean): void {
  if (json) {
    printJson(stats);
    return;
  }
  printTable([["ID", "CPU %", "MEM USAGE / LIMIT", "PIDS"], ...stats.map((s) => [s.id, s.cpuPercent === null ? "-" : `${s.cpuPercent.toFixed(2)}%`, `${mib(s.memoryBytes)} / ${s.memoryLimitBytes === null ? "no limit" : mib(s.memoryLimitBytes)}`, s.pids === null ? "-" : String(s.pids)])]);
}

/** One sample of every container the supervisor knows (a container's unreadable state is named on stderr). */
async function sample(): Promise<ContainerStats[]> {
  const { containers, unreadable } = await new RuntimeClient().listAll();
  for (const u of unreadable) process.stderr.write(`hostform stats: ${u.error.message}\n`);
  return containerStats(containers);
}

export const statsCommand: Command = {
  name: "stats",
  summary: "CPU, memory and pids of running containers (from their cgroups)",
  usage: "Usage: hostform stats [--stream | --no-stream] [--json]\n\n  --stream     sample again every second until interrupted (a terminal is redrawn in place;\n               elsewhere each sample follows the last, with --json one array per line)\n  --no-stream  one sample and exit (the default)",
  async run(argv) {
    const { values } = parseFlags(argv, { json: { type: "boolean" }, stream: { type: "boolean" }, "no-stream": { type: "boolean" } }, false);
    const json = values.json === true;
    if (values.stream !== true || values["no-stream"] === true) {
      printStats(await sample(), json);
      return 0;
    }
    let stopped = false;
    const stop = (): void => {
      stopped = true;
    };
    process.once("SIGINT", stop).once("SIGTERM", stop);
    const redraw = process.stdout.isTTY === true && !json;
    try {
      // Each sample takes its own half-second cpu window; another half second apart makes one a second.
      while (!stopped) {
        const stats = await sample();
        if (stopped) break;
        if (redraw) process.stdout.write("\x1b[H\x1b[2J");
        if (json) process.stdout.write(`${JSON.stringify(stats)}\n`);
        else printStats(stats, false);
        if (!redraw && !json) process.stdout.write("\n");
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      process.off("SIGINT", stop).off("SIGTERM", stop);
    }
    return 0;
  },
};

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

export const statsCommand: Command = {
  name: "stats",
  summary: "CPU, memory and pids of running containers (from their cgroups)",
  usage: "Usage: hostform stats [--json]",
  async run(argv) {
    const { values } = parseFlags(argv, { json: { type: "boolean" } }, false);
    const { containers, unreadable } = await new RuntimeClient().listAll();
    for (const u of unreadable) process.stderr.write(`hostform stats: ${u.error.message}\n`);
    const stats = await containerStats(containers);
    if (values.json === true) {
      printJson(stats);
      return 0;
    }
    const rows = [["ID", "CPU %", "MEM USAGE / LIMIT", "PIDS"], ...stats.map((s) => [s.id, s.cpuPercent === null ? "-" : `${s.cpuPercent.toFixed(2)}%`, `${mib(s.memoryBytes)} / ${s.memoryLimitBytes === null ? "no limit" : mib(s.memoryLimitBytes)}`, s.pids === null ? "-" : String(s.pids)])];
    printTable(rows);
    return 0;
  },
};

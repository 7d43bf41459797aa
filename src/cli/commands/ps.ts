import { type Command, parseFlags, printJson, printTable } from "../command";
import { RuntimeClient } from "../../runtime/client";
import { exitNoteWithRestart, ociState, type ContainerState } from "../../runtime/state";

function age(iso: string | undefined): string {
  if (iso === undefined) return "-";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

/** One row of `hostform ps`. */
export function psRow(s: ContainerState): string[] {
  const status = s.status === "running" ? `running ${age(s.started)}` : s.status === "stopped" ? `exited (${s.exitCode ?? "?"}) ${age(s.finished)} ago` : s.status;
  return [s.id, s.status === "stopped" ? "-" : String(s.pid), status, String(s.restartCount), s.restartPolicy, s.spec.process.args.join(" ")];
}

export const psCommand: Command = {
  name: "ps",
  summary: "List containers (state, pid, restarts)",
  usage: "Usage: hostform ps [--json]\n\n  --json   print the OCI state of each container plus hostform's fields",
  async run(argv) {
    const { values } = parseFlags(argv, { json: { type: "boolean" } }, false);
    const { containers: list, unreadable } = await new RuntimeClient().listAll();
    // As `runc list` does: a container whose state cannot be read is named on stderr, never left out silently.
    for (const u of unreadable) process.stderr.write(`hostform ps: ${u.error.message}\n`);
    if (values.json === true) {
      printJson(list.map((s) => ({ ...ociState(s), pidStartTime: s.pidStartTime, created: s.created, started: s.started, finished: s.finished, exitCode: s.exitCode, signal: s.signal, restartCount: s.restartCount, restartPolicy: s.restartPolicy, cgroup: s.cgroup, logPath: s.logPath, exitNote: exitNoteWithRestart(s), pendingRestart: s.pendingRestart, warnings: s.warnings })));
      return 0;
    }
    const unreadableRows = unreadable.map((u) => [u.id, "-", "unreadable", "-", "-", "(state file unreadable, see above)"]);
    const rows = [["ID", "PID", "STATUS", "RESTARTS", "POLICY", "COMMAND"], ...list.map(psRow), ...unreadableRows];
    printTable(rows);
    return 0;
  },
};

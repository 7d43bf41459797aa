// `hostform-runtime ps`: as runc's ps.go, the host's `ps` (default -ef) cut down to the container's
// processes by the PID column, or with --format json only the pid array (containerd's `ctr task ps`
// reads that). The pids come from the container's cgroup (the cgroup driver's procs).
import { spawnSync } from "node:child_process";
import { HostformError, SysError, ValidationError } from "../sys/errors";

/** `ps --format json`: the pids as Go's json.Encoder writes them (one line). */
export function psJson(pids: readonly number[]): string {
  return `${JSON.stringify(pids)}\n`;
}

/** ps output reduced to its header and the lines whose PID column is one of `pids`. */
export function filterPsOutput(output: string, pids: readonly number[]): string {
  const [header = "", ...lines] = output.split("\n");
  const pidIndex = header.trim().split(/\s+/).indexOf("PID");
  if (pidIndex < 0) throw new ValidationError("ps arguments", "the ps output has no PID column", "keep the pid column in the format, e.g. -ef");
  const wanted = new Set(pids);
  const kept = lines.filter((line) => {
    if (line.trim() === "") return false;
    const field = line.trim().split(/\s+/)[pidIndex];
    const pid = Number(field);
    if (field === undefined || !Number.isInteger(pid)) throw new ValidationError("ps arguments", `no pid in column ${pidIndex + 1} of '${line}'`, "put the pid column before any column with spaces");
    return wanted.has(pid);
  });
  return [header, ...kept].map((l) => `${l}\n`).join("");
}

/** Runs the host's ps with `psArgs` (runc's default: -ef) and keeps the container's processes. */
export function psTable(pids: readonly number[], psArgs: readonly string[] = []): string {
  const args = psArgs.length > 0 ? [...psArgs] : ["-ef"];
  const r = spawnSync("ps", args, { encoding: "utf8" });
  if (r.error !== undefined) throw SysError.fromNode(r.error, `run ps ${args.join(" ")}`);
  if (r.status !== 0) throw new HostformError(`ps ${args.join(" ")} exited with status ${String(r.status)}: ${(r.stderr || r.stdout).trim()}`);
  return filterPsOutput(r.stdout, pids);
}

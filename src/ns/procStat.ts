import { readFileSync } from "node:fs";
import { hasCode, SysError } from "../sys/errors";

/** The fields of /proc/<pid>/stat that identify a process and tell whether it still runs. */
export interface ProcStat {
  pid: number;
  /** One-letter state: R, S, D, Z (zombie), X (dead), ... */
  state: string;
  ppid: number;
  /** Start time in clock ticks after boot (field 22): with the pid, a process's identity. */
  startTime: number;
}

/** Reads /proc/<pid>/stat; undefined when no such process exists. */
export function readProcStat(pid: number): ProcStat | undefined {
  const path = `/proc/${pid}/stat`;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (hasCode(err, "ENOENT") || hasCode(err, "ESRCH")) return undefined;
    throw SysError.fromNode(err, `read stat of pid ${pid}`);
  }
  // comm (field 2) may contain spaces and parentheses: the fields after it start at the last ')'.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  return { pid, state: rest[0] ?? "", ppid: Number(rest[1]), startTime: Number(rest[19]) };
}

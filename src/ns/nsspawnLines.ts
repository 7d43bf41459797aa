// nsspawn's messages on its sync socket, one JSON object a line: {"kind":"userns"}, {"kind":
// "spawned","pid":N} or {"kind":"error","syscall":...,"errno":N}. (The runtime's spawn workers
// read the same socket further, as the init's.)
import type { Socket } from "node:net";
import { writeFileSync } from "node:fs";
import { HostformError, SysError } from "../sys/errors";

/** One line nsspawn says. */
export interface NsspawnLine {
  kind?: unknown;
  pid?: unknown;
  syscall?: unknown;
  errno?: unknown;
  message?: unknown;
}

/** Calls onLine for each line the helper writes on sock; a line that is not JSON counts as an error line. */
export function nsspawnLines(sock: Socket, onLine: (line: NsspawnLine) => void): void {
  let tail = "";
  sock.setEncoding("utf8");
  sock.on("error", () => undefined);
  sock.on("data", (chunk: string) => {
    const lines = (tail + chunk).split("\n");
    tail = lines.pop() ?? "";
    for (const l of lines) {
      if (l === "") continue;
      let parsed: NsspawnLine;
      try {
        parsed = JSON.parse(l) as NsspawnLine;
      } catch {
        parsed = { kind: "error", message: `unreadable line from nsspawn: ${l}` };
      }
      onLine(parsed);
    }
  });
}

/** The typed error of an "error" line: the failed syscall and errno, with `context`. */
export function nsspawnError(line: NsspawnLine, context: string): SysError | HostformError {
  if (typeof line.syscall === "string" && typeof line.errno === "number") return new SysError(line.syscall, line.errno, undefined, context);
  return new HostformError(`${context}: ${String(line.message)}`);
}

/** Writes the uid_map and gid_map of the user namespace nsspawn (pid) just made, as its "userns" line asks. */
export function writeIdMaps(pid: number, uidMap: string, gidMap: string): void {
  writeFileSync(`/proc/${pid}/uid_map`, uidMap);
  writeFileSync(`/proc/${pid}/gid_map`, gidMap);
}

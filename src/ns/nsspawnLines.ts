// nsspawn's messages on its sync socket, one JSON object a line: {"kind":"userns"}, {"kind":
// "spawned","pid":N} or {"kind":"error","syscall":...,"errno":N}. (The runtime's spawn workers
// read the same socket further, as the init's.)
import type { Socket } from "node:net";

/** One line nsspawn says. */
export interface NsspawnLine {
  kind?: string;
  pid?: number;
  syscall?: string;
  errno?: number;
  message?: string;
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

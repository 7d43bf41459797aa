// A container's fds 0-2 for its next start: the creating client's own fds (reopened through
// /proc/<pid>/fd) or the container's log file. The init copies them; the supervisor closes its
// copies once the start is over, so it holds no container's stdio open while the container runs.
import { closeSync, openSync } from "node:fs";
import { SysError, hasCode } from "../../sys/errors";
import type { StdioChoice } from "../launcher";
import { openLogForAppend } from "../logsFile";
import type { ContainerState } from "../state";

export interface OpenedStdio {
  choices: [StdioChoice, StdioChoice, StdioChoice];
  /** The fds opened here, for closeStdio once the init has its copies. */
  fds: number[];
}

/** Opens fds 0-2 for the container: client fds through /proc, else stdin /dev/null and output to the log. */
export function openStdio(state: Pick<ContainerState, "stdio" | "logPath">): OpenedStdio {
  const choices: StdioChoice[] = [];
  const fds: number[] = [];
  try {
    for (const fd of [0, 1, 2]) {
      let opened: number | undefined;
      if (state.stdio !== "log") opened = openClientFd(state.stdio[fd]!, fd === 0 ? "r" : "a");
      if (opened === undefined) {
        if (fd === 0) {
          choices.push("ignore");
          continue;
        }
        opened = openLogForAppend(state.logPath);
      }
      fds.push(opened);
      choices.push(opened);
    }
  } catch (err) {
    closeStdio(fds);
    throw err;
  }
  return { choices: choices as OpenedStdio["choices"], fds };
}

/** Closes the fds (and empties the list, so a second call closes nothing twice). */
export function closeStdio(fds: number[]): void {
  for (const fd of fds.splice(0)) closeSync(fd);
}

/** undefined when the client's fd cannot be reopened: that stream goes to the log. */
function openClientFd(path: string, flags: "r" | "a"): number | undefined {
  try {
    return openSync(path, flags);
  } catch (err) {
    // A socket cannot be reopened through /proc (ENXIO); a client that exited has no fds left (ENOENT).
    if (hasCode(err, "ENXIO") || hasCode(err, "ENOENT")) return undefined;
    throw SysError.fromNode(err, `open stdio ${path}`);
  }
}

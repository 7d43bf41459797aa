import { type Command, UsageError, onePositional, parseFlags } from "../command";
import { hasCode, SysError, ValidationError } from "../../sys/errors";
import { readState } from "../../runtime/state";
import { followLog, readLog } from "../../runtime/logsFile";
import { statSync } from "node:fs";

export const logsCommand: Command = {
  name: "logs",
  summary: "Print a container's stdout/stderr (rotated files included)",
  usage: "Usage: hostform logs [-f] [--tail N] <container>\n\n  -f, --follow   keep printing new output until the container stops (or Ctrl-C)\n  --tail N       only the last N lines",
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { follow: { type: "boolean", short: "f" }, tail: { type: "string" } });
    const id = onePositional(positionals, "give exactly one container id");
    let tail: number | undefined;
    if (values.tail !== undefined) {
      tail = Number(values.tail);
      if (!Number.isInteger(tail) || tail < 0) throw new UsageError(`--tail: ${values.tail} is not a line count`);
    }
    const state = readState(id);
    if (state === undefined) throw new ValidationError("container", `${id} does not exist`, "list containers with `hostform ps`");
    process.stdout.write(readLog(state.logPath, state.logFiles, tail));
    if (values.follow !== true) return 0;
    let offset = 0;
    try {
      offset = statSync(state.logPath).size;
    } catch (err) {
      // Not written yet: follow from the start.
      if (!hasCode(err, "ENOENT")) throw SysError.fromNode(err, `stat ${state.logPath}`);
    }
    let interrupted = false;
    const onSigint = () => {
      interrupted = true;
    };
    process.once("SIGINT", onSigint);
    try {
      await followLog(state.logPath, offset, (chunk) => process.stdout.write(chunk), () => {
        if (interrupted) return true;
        const s = readState(id);
        return s === undefined || (s.status === "stopped" && s.pendingRestart === undefined);
      });
    } finally {
      process.removeListener("SIGINT", onSigint);
    }
    return 0;
  },
};

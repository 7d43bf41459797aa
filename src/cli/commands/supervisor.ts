// `hostform supervisor stop`: ends the shared supervisor now instead of after its idle time. Its
// containers keep running (a supervisor started later adopts them); nothing is asked of a host
// where none runs.
import { type Command, parseFlags, UsageError } from "../command";
import { RuntimeClient } from "../../runtime/client";

export const supervisorStopCommand: Command = {
  name: "supervisor stop",
  summary: "Stop the shared supervisor (containers keep running; it exits by itself when idle)",
  usage: "Usage: hostform supervisor stop\n\n  Stops the supervisor of $HOSTFORM_RUN_DIR (default /run/hostform). Running containers are left\n  running and are adopted by the next supervisor; one with nothing to supervise exits by itself.",
  async run(argv) {
    const { positionals } = parseFlags(argv, {}, false);
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const pid = await new RuntimeClient().shutdownSupervisor();
    process.stdout.write(pid === undefined ? "no supervisor runs\n" : `supervisor ${pid} stopped\n`);
    return 0;
  },
};

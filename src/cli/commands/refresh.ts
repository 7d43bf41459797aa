import type { Command } from "../command";
import { OPERATION_USAGE_FLAGS, runEngineCommand } from "../engineCommand";

/** `hostform refresh`: Read every resource's live state into the stack state. */
export const refreshCommand: Command = {
  name: "refresh",
  summary: "Read every resource's live state into the stack state",
  usage: `Usage: hostform refresh [options]\n\n${OPERATION_USAGE_FLAGS}`,
  run: (argv) => runEngineCommand("refresh", argv),
};

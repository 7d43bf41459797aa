import type { Command } from "../command";
import { OPERATION_USAGE_FLAGS, runEngineCommand } from "../engineCommand";

/** `hostform destroy`: Delete every resource of the stack. */
export const destroyCommand: Command = {
  name: "destroy",
  summary: "Delete every resource of the stack",
  usage: `Usage: hostform destroy [options]\n\n${OPERATION_USAGE_FLAGS}`,
  run: (argv) => runEngineCommand("destroy", argv),
};

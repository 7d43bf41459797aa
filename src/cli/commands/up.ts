import type { Command } from "../command";
import { OPERATION_USAGE_FLAGS, runEngineCommand } from "../engineCommand";

/** `hostform up`: Create or update the stack's resources to match the program. */
export const upCommand: Command = {
  name: "up",
  summary: "Create or update the stack's resources to match the program",
  usage: `Usage: hostform up [options]\n\n${OPERATION_USAGE_FLAGS}`,
  run: (argv) => runEngineCommand("up", argv),
};

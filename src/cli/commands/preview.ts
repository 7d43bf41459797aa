import type { Command } from "../command";
import { OPERATION_USAGE_FLAGS, runEngineCommand } from "../engineCommand";

/** `hostform preview`: Show what 'up' would change, without changing anything. */
export const previewCommand: Command = {
  name: "preview",
  summary: "Show what 'up' would change, without changing anything",
  usage: `Usage: hostform preview [options]\n\n${OPERATION_USAGE_FLAGS}`,
  run: (argv) => runEngineCommand("preview", argv),
};

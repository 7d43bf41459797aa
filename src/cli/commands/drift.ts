import type { Command } from "../command";
import { OPERATION_USAGE_FLAGS, runEngineCommand } from "../../engine/operationCommand";

/** `hostform drift`: Compare live state with the stack state (exit 0 in sync, 2 drift, 1 error); never writes. */
export const driftCommand: Command = {
  name: "drift",
  summary: "Compare live state with the stack state (exit 0 in sync, 2 drift, 1 error); never writes",
  usage: `Usage: hostform drift [options]\n\n${OPERATION_USAGE_FLAGS}`,
  run: (argv) => runEngineCommand("drift", argv),
};

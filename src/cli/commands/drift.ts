import type { Command } from "../command";
import { OPERATION_USAGE_FLAGS, runEngineCommand } from "../engineCommand";

/** `hostform drift`: compares live state with the stack state; never writes. */
export const driftCommand: Command = {
  name: "drift",
  summary: "Compare live state with the stack state (--exit-code: 0 in sync, 2 drift, 1 error); never writes",
  usage:
    `Usage: hostform drift [--json] [--exit-code] [options]\n\n` +
    `Reads every resource once and reports it as in sync, modified (field: old => new), missing or stopped.\n` +
    `Exit status: 1 when the check itself failed. With --exit-code (for CI and GitOps jobs, like\n` +
    `'terraform plan -detailed-exitcode' and 'git diff --exit-code'): 0 in sync, 2 drift. Without it,\n` +
    `0 whatever was found: the report is the output.\n\n${OPERATION_USAGE_FLAGS}`,
  run: (argv) => runEngineCommand("drift", argv),
};

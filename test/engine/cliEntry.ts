// Runs one engine command in a child process, as bin/hostform would once the lead registers the
// commands: tests kill it, race two of it, and read its exit code.
import { HostformError } from "../../src/sys/errors";
import { UsageError, type Command } from "../../src/cli/command";
import { destroyCommand } from "../../src/cli/commands/destroy";
import { driftCommand } from "../../src/cli/commands/drift";
import { previewCommand } from "../../src/cli/commands/preview";
import { refreshCommand } from "../../src/cli/commands/refresh";
import { upCommand } from "../../src/cli/commands/up";

const commands: Record<string, Command> = { up: upCommand, preview: previewCommand, refresh: refreshCommand, destroy: destroyCommand, drift: driftCommand };
const [name, ...rest] = process.argv.slice(2);
const command = commands[name ?? ""];
if (command === undefined) {
  process.stderr.write(`unknown command ${name}\n`);
  process.exit(2);
}
command.run(rest).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`hostform ${name}: ${err instanceof HostformError ? err.message : (err as Error).stack}\n`);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);

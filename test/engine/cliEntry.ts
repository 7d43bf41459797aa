// Runs one engine command in a child process, as bin/hostform would once the lead registers the
// commands: tests kill it, race two of it, and read its exit code.
import { HostformError } from "../../src/sys/errors";
import { UsageError, type Command } from "../../src/cli/command";
import { destroyCommand } from "../../src/cli/commands/destroy";
import { driftCommand } from "../../src/cli/commands/drift";
import { previewCommand } from "../../src/cli/commands/preview";
import { refreshCommand } from "../../src/cli/commands/refresh";
import { upCommand } from "../../src/cli/commands/up";
import { stackExportCommand, stackImportCommand, stackLsCommand, stackRmCommand } from "../../src/cli/commands/stack";
import { configGetCommand, configRmCommand, configSetCommand } from "../../src/cli/commands/config";

const all: Command[] = [upCommand, previewCommand, refreshCommand, destroyCommand, driftCommand, stackLsCommand, stackExportCommand, stackImportCommand, stackRmCommand, configSetCommand, configGetCommand, configRmCommand];
const commands = new Map(all.map((c) => [c.name, c]));
const argv = process.argv.slice(2);
// Two-word commands ("stack ls") first, as bin/hostform resolves them.
const two = commands.has(`${argv[0]} ${argv[1]}`);
const name = two ? `${argv[0]} ${argv[1]}` : argv[0];
const rest = argv.slice(two ? 2 : 1);
const command = commands.get(name ?? "");
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

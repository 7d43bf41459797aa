import { describeError } from "../engine/errorText";
import { HostformError } from "../sys/errors";
import { type Command, UsageError } from "./command";
import { commands } from "./commands/index";

function usage(): string {
  const lines = ["Usage: hostform <command> [options]", "", "Commands:"];
  for (const c of commands) lines.push(`  ${c.name.padEnd(18)} ${c.summary}`);
  lines.push("", "Run 'hostform <command> --help' for a command's options.");
  return lines.join("\n");
}

function find(argv: string[]): { command: Command; rest: string[] } | undefined {
  // Two-word commands ("host info", "seccomp compile") win over one-word ones.
  const two = `${argv[0]} ${argv[1]}`;
  const c2 = commands.find((c) => c.name === two);
  if (c2 !== undefined) return { command: c2, rest: argv.slice(2) };
  const c1 = commands.find((c) => c.name === argv[0]);
  if (c1 !== undefined) return { command: c1, rest: argv.slice(1) };
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    process.stdout.write(usage() + "\n");
    return argv.length === 0 ? 2 : 0;
  }
  const found = find(argv);
  if (found === undefined) {
    process.stderr.write(`hostform: unknown command '${argv.slice(0, 2).join(" ")}'\n\n${usage()}\n`);
    return 2;
  }
  const { command, rest } = found;
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`hostform ${command.name}: ${describeError(err)}\n\n${command.usage}\n`);
      return 2;
    }
    if (err instanceof HostformError) {
      process.stderr.write(`hostform ${command.name}: ${describeError(err)}\n`);
      return 1;
    }
    throw err;
  }
}

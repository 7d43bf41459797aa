import { parseArgs, type ParseArgsConfig } from "node:util";
import { HostformError } from "../sys/errors";

/** One `hostform <name>` subcommand. `run` returns the process exit code. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

/** Thrown for bad command-line input; the CLI prints the message and the command's usage. */
export class UsageError extends HostformError {}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** parseArgs with errors turned into UsageError, so a typo never prints a stack trace. */
export function parseFlags<T extends Options>(argv: string[], options: T, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: err });
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2) + "\n");
}

/**
 * The one positional argument a command takes (exactly one, or one plus up to `extra` more): a
 * UsageError with `problem` otherwise.
 */
export function onePositional(positionals: readonly string[], problem: string, extra = 0): string {
  const first = positionals[0];
  if (first === undefined || positionals.length > 1 + extra) throw new UsageError(problem);
  return first;
}

/** Prints rows as columns two spaces apart; the last column is not padded. */
export function printTable(rows: readonly (readonly string[])[]): void {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  for (const r of rows) process.stdout.write(`${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ")}\n`);
}

import type { Command } from "../command";

/** Every `hostform` subcommand, in the order `hostform --help` lists them. */
export const commands: Command[] = [];

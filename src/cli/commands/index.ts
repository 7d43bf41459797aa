import type { Command } from "../command";
import { hostInfoCommand } from "./hostInfo";

/** Every `hostform` subcommand, in the order `hostform --help` lists them. */
export const commands: Command[] = [hostInfoCommand];

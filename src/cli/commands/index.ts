import type { Command } from "../command";
import { hostInfoCommand } from "./hostInfo";
import { seccompCompileCommand } from "./seccompCompile";

/** Every `hostform` subcommand, in the order `hostform --help` lists them. */
export const commands: Command[] = [hostInfoCommand, seccompCompileCommand];

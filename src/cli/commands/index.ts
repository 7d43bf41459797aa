import type { Command } from "../command";
import { upCommand } from "./up";
import { previewCommand } from "./preview";
import { refreshCommand } from "./refresh";
import { destroyCommand } from "./destroy";
import { driftCommand } from "./drift";
import { execCommand } from "./exec";
import { psCommand } from "./ps";
import { logsCommand } from "./logs";
import { statsCommand } from "./stats";
import { stackLsCommand, stackExportCommand, stackImportCommand, stackRmCommand } from "./stack";
import { configSetCommand, configGetCommand, configRmCommand } from "./config";
import { hostInfoCommand } from "./hostInfo";
import { seccompCompileCommand } from "./seccompCompile";
import { supervisorStopCommand } from "./supervisor";

/** Every `hostform` subcommand, in the order `hostform --help` lists them. */
export const commands: Command[] = [
  upCommand,
  previewCommand,
  refreshCommand,
  destroyCommand,
  driftCommand,
  psCommand,
  logsCommand,
  statsCommand,
  execCommand,
  stackLsCommand,
  stackExportCommand,
  stackImportCommand,
  stackRmCommand,
  configSetCommand,
  configGetCommand,
  configRmCommand,
  hostInfoCommand,
  seccompCompileCommand,
  supervisorStopCommand,
];

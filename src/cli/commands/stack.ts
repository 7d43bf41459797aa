import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { SysError, HostformError } from "../../sys/errors";
import { parseFlags, printJson, printTable, UsageError, type Command } from "../command";
import { confirm } from "../confirm";
import { openStackSecrets, stackConfigFile } from "../../engine/project";
import { exportStack, importStack, listStacks, removeStack } from "../../engine/stackStore";
import { resolveStackTarget, STACK_TARGET_FLAGS, STACK_TARGET_USAGE } from "../stackTarget";
import { stateDir } from "../../engine/stateFile";

const STATE_NOTE = "State: $HOSTFORM_STATE_DIR, default ~/.hostform/state (Pulumi file-backend layout).";

/** `hostform stack ls`: the project's stacks with their resource counts and last update. */
export const stackLsCommand: Command = {
  name: "stack ls",
  summary: "List the project's stacks (resource count, last update)",
  usage: `Usage: hostform stack ls [--json] [options]\n\nOptions:\n${STACK_TARGET_USAGE}\n  --json                print [{name, current, lastUpdate, updateInProgress, resourceCount}]\n${STATE_NOTE}`,
  async run(argv) {
    const { values } = parseFlags(argv, { ...STACK_TARGET_FLAGS, json: { type: "boolean" } }, false);
    const { project, stack } = resolveStackTarget(values);
    const stacks = listStacks(project.name, stack);
    if (values.json === true) {
      printJson(stacks);
      return 0;
    }
    if (stacks.length === 0) {
      process.stdout.write(`no stacks of project '${project.name}' in ${stateDir()} (run 'hostform up' to create one)\n`);
      return 0;
    }
    for (const s of stacks) if (s.problem !== undefined) process.stderr.write(`warning: stack '${s.name}': state unreadable (${s.problem})\n`);
    const rows = stacks.map((s) => [`${s.name}${s.current ? "*" : ""}`, s.updateInProgress ? "in progress" : (s.lastUpdate ?? "n/a"), s.problem !== undefined ? "?" : String(s.resourceCount)]);
    const head = ["NAME", "LAST UPDATE", "RESOURCE COUNT"];
    printTable([head, ...rows]);
    return 0;
  },
};

/** `hostform stack export`: the stack's state as a Pulumi deployment document. */
export const stackExportCommand: Command = {
  name: "stack export",
  summary: "Print the stack's state as a Pulumi deployment (pulumi stack import can read it)",
  usage: `Usage: hostform stack export [--file FILE] [--show-secrets] [options]\n\nPrints {"version": 3, "deployment": {manifest, secrets_providers?, resources, pending_operations?}} as\n'pulumi stack export' does: secrets stay encrypted unless --show-secrets.\n\nOptions:\n${STACK_TARGET_USAGE}\n  --file FILE           write the deployment to FILE instead of standard output\n  --show-secrets        decrypt secrets and write them in plaintext (needs PULUMI_CONFIG_PASSPHRASE or\n                        PULUMI_CONFIG_PASSPHRASE_FILE)\n${STATE_NOTE}`,
  async run(argv) {
    const { values } = parseFlags(argv, { ...STACK_TARGET_FLAGS, file: { type: "string" }, "show-secrets": { type: "boolean" } }, false);
    const { project, stack } = resolveStackTarget(values);
    const showSecretsWith = values["show-secrets"] === true ? openStackSecrets(project, stack) : undefined;
    const text = JSON.stringify(exportStack(project.name, stack, showSecretsWith), null, 4) + "\n";
    if (values.file === undefined) {
      process.stdout.write(text);
      return 0;
    }
    try {
      writeFileSync(values.file, text, { mode: 0o600 });
    } catch (err) {
      throw SysError.fromNode(err, `write ${values.file}`);
    }
    process.stderr.write(`exported stack '${stack}' to ${values.file}\n`);
    return 0;
  },
};

/** `hostform stack import`: validates a deployment document and makes it the stack's state. */
export const stackImportCommand: Command = {
  name: "stack import",
  summary: "Replace the stack's state with a Pulumi deployment (from --file or standard input)",
  usage: `Usage: hostform stack import [--file FILE] [options]\n\nReads {"version": 3, "deployment": {...}} (the output of 'hostform stack export' or\n'pulumi stack export', with or without --show-secrets), checks it (URNs of this stack and project,\ndependency order, no duplicates) and writes it as the stack's state under the stack lock. Encrypted\nsecrets (passphrase provider) are decrypted with PULUMI_CONFIG_PASSPHRASE(_FILE) and encrypted\nagain under the stack's own encryptionsalt.\n\nOptions:\n${STACK_TARGET_USAGE}\n  --file FILE           read the deployment from FILE (default: standard input)\n${STATE_NOTE}`,
  async run(argv) {
    const { values } = parseFlags(argv, { ...STACK_TARGET_FLAGS, file: { type: "string" } }, false);
    const { project, stack } = resolveStackTarget(values);
    const source = values.file ?? "standard input";
    if (values.file === undefined && process.stdin.isTTY === true) throw new UsageError("pass --file FILE or pipe the deployment into standard input");
    let text: string;
    try {
      text = values.file !== undefined ? readFileSync(values.file, "utf8") : await readAll(process.stdin);
    } catch (err) {
      throw SysError.fromNode(err, `read ${source}`);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new HostformError(`${source}: not valid JSON (${(err as Error).message})`, { cause: err });
    }
    const warn = (m: string): void => void process.stderr.write(`warning: ${m}\n`);
    const snapshot = importStack(project.name, stack, doc, "hostform stack import", warn, openStackSecrets(project, stack));
    process.stdout.write(`imported ${snapshot.resources.length} resource(s) into stack '${stack}'\n`);
    return 0;
  },
};

/** `hostform stack rm`: removes a stack's state and config; refuses while it has resources. */
export const stackRmCommand: Command = {
  name: "stack rm",
  summary: "Remove a stack (its state and Pulumi.<stack>.yaml); refuses while it has resources",
  usage: `Usage: hostform stack rm [--force] [--yes] [--preserve-config] [options]\n\nOptions:\n${STACK_TARGET_USAGE}\n  --force               remove it even if resources remain (they stay on the host, unmanaged)\n  -y, --yes             do not ask (required when not on a terminal)\n  --preserve-config     keep Pulumi.<stack>.yaml\n${STATE_NOTE}`,
  async run(argv) {
    const { values } = parseFlags(argv, { ...STACK_TARGET_FLAGS, force: { type: "boolean", short: "f" }, yes: { type: "boolean", short: "y" }, "preserve-config": { type: "boolean" } }, false);
    const { project, stack } = resolveStackTarget(values);
    if (values.yes !== true) {
      if (process.stdin.isTTY !== true || process.stdout.isTTY !== true) throw new UsageError("--yes is required to remove a stack when not on a terminal");
      if (!(await confirm(`This removes stack '${stack}' and its state for good. Continue?`))) return 1;
    }
    const warn = (m: string): void => void process.stderr.write(`warning: ${m}\n`);
    const { removedResources } = removeStack(project.name, stack, values.force === true, "hostform stack rm", warn);
    if (values["preserve-config"] !== true) rmSync(stackConfigFile(project, stack), { force: true });
    if (removedResources > 0) warn(`${removedResources} resource(s) were forgotten; they remain on the host`);
    process.stdout.write(`stack '${stack}' has been removed\n`);
    return 0;
  },
};

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = "";
  stream.setEncoding("utf8");
  for await (const chunk of stream) text += chunk as string;
  return text;
}

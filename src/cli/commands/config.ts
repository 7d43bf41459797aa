import { onePositional, parseFlags, printJson, UsageError, type Command } from "../command";
import { configKey, loadStackConfig, removeStackConfigValue, setStackConfigValue } from "../../engine/project";
import { resolveStackTarget, STACK_TARGET_FLAGS, STACK_TARGET_USAGE } from "../stackTarget";

const KEY_NOTE = "KEY is <name> (in the project's namespace) or <namespace>:<name>; values live in Pulumi.<stack>.yaml.";

const PASSPHRASE_NOTE = "Secrets are encrypted with the passphrase in $PULUMI_CONFIG_PASSPHRASE, or in the file\n$PULUMI_CONFIG_PASSPHRASE_FILE names (Pulumi's passphrase secrets provider).";

/** `hostform config set KEY VALUE`: writes a value (encrypted with --secret) into Pulumi.<stack>.yaml. */
export const configSetCommand: Command = {
  name: "config set",
  summary: "Set a stack configuration value in Pulumi.<stack>.yaml",
  usage: `Usage: hostform config set KEY VALUE [options]\n\n${KEY_NOTE}\n\nOptions:\n${STACK_TARGET_USAGE}\n  --secret              store the value encrypted (secure: ...); the first secret adds the stack's encryptionsalt\n  --plaintext           store the value in plain text (the default)\n${PASSPHRASE_NOTE}`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { ...STACK_TARGET_FLAGS, secret: { type: "boolean" }, plaintext: { type: "boolean" } });
    if (values.secret === true && values.plaintext === true) throw new UsageError("--secret and --plaintext exclude each other");
    if (positionals.length !== 2) throw new UsageError(positionals.length < 2 ? "config set needs KEY and VALUE" : `unexpected argument '${positionals[2]}'`);
    const [key, value] = positionals as [string, string];
    const { project, stack } = resolveStackTarget(values);
    setStackConfigValue(project, stack, key, value, values.secret === true);
    return 0;
  },
};

/**
 * `hostform config get KEY`: prints the value the program would see (stack file over project
 * default). A secret is decrypted and printed, as `pulumi config get` does: asking for it by name is
 * asking to see it.
 */
export const configGetCommand: Command = {
  name: "config get",
  summary: "Print a stack configuration value",
  usage: `Usage: hostform config get KEY [--json] [options]\n\n${KEY_NOTE} Prints the value the program\nsees: the stack's, else the project's default from Pulumi.yaml. Exit 1 when it is not set.\nA secret is decrypted (as 'pulumi config get' does). ${PASSPHRASE_NOTE}\n\nOptions:\n${STACK_TARGET_USAGE}\n  --json                print {"key", "value", "secret"}`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { ...STACK_TARGET_FLAGS, json: { type: "boolean" } });
    const keyArg = onePositional(positionals, positionals.length === 0 ? "config get needs KEY" : `unexpected argument '${positionals[1]}'`);
    const { project, stack } = resolveStackTarget(values);
    const key = configKey(project, keyArg);
    // Only this key is decrypted: reading a plain value needs no passphrase.
    const config = loadStackConfig(project, stack, key);
    const value = config.values[key];
    if (value === undefined) {
      process.stderr.write(`hostform config get: configuration key '${key}' is not set for stack '${stack}'\n`);
      return 1;
    }
    if (values.json === true) printJson({ key, value, secret: config.secretKeys.includes(key) });
    else process.stdout.write(`${value}\n`);
    return 0;
  },
};

/** `hostform config rm KEY`: removes a key from Pulumi.<stack>.yaml (no error when it is absent, as Pulumi). */
export const configRmCommand: Command = {
  name: "config rm",
  summary: "Remove a stack configuration value from Pulumi.<stack>.yaml",
  usage: `Usage: hostform config rm KEY [options]\n\n${KEY_NOTE} Removing a key that is not set is not an error.\nA project default in Pulumi.yaml still applies after the stack's value is removed.\n\nOptions:\n${STACK_TARGET_USAGE}`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, STACK_TARGET_FLAGS);
    const key = onePositional(positionals, positionals.length === 0 ? "config rm needs KEY" : `unexpected argument '${positionals[1]}'`);
    const { project, stack } = resolveStackTarget(values);
    removeStackConfigValue(project, stack, key);
    return 0;
  },
};

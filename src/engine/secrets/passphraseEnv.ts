// Where the passphrase comes from, as the Pulumi CLI reads it (pkg/secrets/passphrase/manager.go
// readPassphrase): PULUMI_CONFIG_PASSPHRASE when set (even empty: an empty passphrase is valid),
// else the trimmed contents of the file PULUMI_CONFIG_PASSPHRASE_FILE names. hostform never prompts.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { HostformError, SysError } from "../../sys/errors";

export const PASSPHRASE_VARIABLES = "PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE";

/** A passphrase and the variable it came from (error messages name it). */
export interface Passphrase {
  value: string;
  source: "PULUMI_CONFIG_PASSPHRASE" | "PULUMI_CONFIG_PASSPHRASE_FILE";
}

/** The stack needs a passphrase and neither variable gives one. */
export class MissingPassphraseError extends HostformError {}

/** The passphrase from the environment, or undefined when neither variable is set. */
export function passphraseFromEnv(env: NodeJS.ProcessEnv = process.env): Passphrase | undefined {
  const direct = env.PULUMI_CONFIG_PASSPHRASE;
  if (direct !== undefined) return { value: direct, source: "PULUMI_CONFIG_PASSPHRASE" };
  const file = env.PULUMI_CONFIG_PASSPHRASE_FILE;
  if (file === undefined || file === "") return undefined;
  const path = resolve(file);
  try {
    return { value: readFileSync(path, "utf8").trim(), source: "PULUMI_CONFIG_PASSPHRASE_FILE" };
  } catch (err) {
    throw SysError.fromNode(err, `read PULUMI_CONFIG_PASSPHRASE_FILE ${path}`);
  }
}

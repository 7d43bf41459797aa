// A stack's secrets manager: Pulumi's passphrase provider keyed by the stack's salt state (the
// `encryptionsalt` of Pulumi.<stack>.yaml, which the checkpoint repeats in `secrets_providers`).
// The passphrase is asked for only when something is encrypted or decrypted, so a stack that
// never had a secret needs none.
import { ValidationError, withContext } from "../../sys/errors";
import { crypterFromState, IncorrectPassphraseError, newPassphraseState, type SymmetricCrypter } from "./passphrase";
import { MissingPassphraseError, PASSPHRASE_VARIABLES, passphraseFromEnv, type Passphrase } from "./passphraseEnv";

/** Pulumi's apitype.SecretsProvidersV1, the `secrets_providers` of a deployment. */
export interface SecretsProviders {
  type: string;
  state?: unknown;
}

export const PASSPHRASE_PROVIDER = "passphrase";

/** How a deployment's secrets are written. */
export interface SecretsWriter {
  /** Ciphertext of a secret's JSON; undefined writes the JSON as `plaintext` (export --show-secrets). */
  readonly encrypt: ((plaintext: string) => string) | undefined;
  /** The deployment's `secrets_providers`, asked after its secrets are written. */
  providers(): SecretsProviders | undefined;
}

/** How a deployment's secrets are read. */
export interface SecretsReader {
  /** Decrypts the ciphertexts of a deployment whose `secrets_providers` is `providers`. */
  decrypter(providers: unknown): (ciphertext: string) => string;
}

export interface StackSecretsOptions {
  stack: string;
  /** The salt state in Pulumi.<stack>.yaml, if any. */
  salt: string | undefined;
  /** Writes a salt state into Pulumi.<stack>.yaml (first secret of the stack, as `pulumi stack init` does). */
  saveSalt(state: string): void;
  /** Default: PULUMI_CONFIG_PASSPHRASE / PULUMI_CONFIG_PASSPHRASE_FILE. */
  passphrase?: () => Passphrase | undefined;
}

export class StackSecrets implements SecretsWriter, SecretsReader {
  /** The salt state new secrets are sealed under. */
  private salt: string | undefined;
  /** Whether `salt` is in Pulumi.<stack>.yaml (one adopted from a checkpoint is not, until sealing writes it). */
  private saved: boolean;
  /** Opened salt states (the stack's, and those of imported or older deployments). */
  private readonly crypters = new Map<string, SymmetricCrypter>();
  /**
   * Ciphertext under `salt` of each plaintext this process has read or sealed, so that rewriting
   * the checkpoint keeps an unchanged secret's ciphertext, as Pulumi's cached crypter does (no churn
   * in a versioned state directory; the checkpoint is rewritten many times per run).
   */
  private readonly sealed = new Map<string, string>();

  constructor(private readonly o: StackSecretsOptions) {
    this.salt = o.salt;
    this.saved = o.salt !== undefined;
  }

  /**
   * Checks the passphrase now when the stack has a salt, so that a missing or wrong one fails a
   * command before it changes anything.
   */
  unlock(): void {
    if (this.salt !== undefined) this.open(this.salt);
  }

  /**
   * Makes sure this stack can seal new secrets: opens its salt, or creates one (saving it in
   * Pulumi.<stack>.yaml). Throws MissingPassphraseError or IncorrectPassphraseError.
   */
  requireSealing(): SymmetricCrypter {
    if (this.salt === undefined) {
      const { state, crypter } = newPassphraseState(this.passphrase(`to encrypt the first secret of stack '${this.o.stack}'`).value);
      this.crypters.set(state, crypter);
      this.salt = state;
    }
    const crypter = this.open(this.salt);
    if (!this.saved) {
      this.o.saveSalt(this.salt);
      this.saved = true;
    }
    return crypter;
  }

  readonly encrypt = (plaintext: string): string => {
    const crypter = this.requireSealing();
    let ciphertext = this.sealed.get(plaintext);
    if (ciphertext === undefined) {
      ciphertext = crypter.encrypt(plaintext);
      this.sealed.set(plaintext, ciphertext);
    }
    return ciphertext;
  };

  providers(): SecretsProviders | undefined {
    return this.salt === undefined ? undefined : { type: PASSPHRASE_PROVIDER, state: { salt: this.salt } };
  }

  /** The same stack's secrets written as plaintext (`stack export --show-secrets`). */
  showing(): SecretsWriter {
    return { encrypt: undefined, providers: () => this.providers() };
  }

  /** Decrypts a `secure:` config value of Pulumi.<stack>.yaml (sealed under the file's salt). */
  decryptConfig(ciphertext: string, field: string): string {
    if (!this.saved || this.salt === undefined) {
      throw new ValidationError(field, "is encrypted (secure:) but the file has no encryptionsalt", "set the value again with 'hostform config set --secret', or restore the file's encryptionsalt line");
    }
    try {
      return this.open(this.salt).decrypt(ciphertext);
    } catch (err) {
      throw withContext(err, field);
    }
  }

  decrypter(providers: unknown): (ciphertext: string) => string {
    if (providers === undefined || providers === null) {
      return () => {
        throw new ValidationError("secrets_providers", "is missing, but the deployment holds encrypted secrets", "export it again with its secrets provider, or with --show-secrets");
      };
    }
    const salt = passphraseSalt(providers);
    // A stack without a salt of its own keeps using its state's (as Pulumi falls back to the state's provider).
    this.salt ??= salt;
    return (ciphertext) => {
      const plaintext = this.open(salt).decrypt(ciphertext);
      if (salt === this.salt && !this.sealed.has(plaintext)) this.sealed.set(plaintext, ciphertext);
      return plaintext;
    };
  }

  private open(salt: string): SymmetricCrypter {
    let crypter = this.crypters.get(salt);
    if (crypter !== undefined) return crypter;
    const passphrase = this.passphrase(`to decrypt the secrets of stack '${this.o.stack}'`);
    try {
      crypter = crypterFromState(passphrase.value, salt);
    } catch (err) {
      if (!(err instanceof IncorrectPassphraseError)) throw err;
      throw new IncorrectPassphraseError(`incorrect passphrase for stack '${this.o.stack}' (from ${passphrase.source}): set ${PASSPHRASE_VARIABLES} to the passphrase its secrets were encrypted with`, { cause: err });
    }
    this.crypters.set(salt, crypter);
    return crypter;
  }

  private passphrase(why: string): Passphrase {
    const p = (this.o.passphrase ?? passphraseFromEnv)();
    if (p === undefined) throw new MissingPassphraseError(`a passphrase is needed ${why}: set PULUMI_CONFIG_PASSPHRASE to it, or PULUMI_CONFIG_PASSPHRASE_FILE to a file that holds it`);
    return p;
  }
}

/** The salt state of a passphrase `secrets_providers`; other providers are refused by name. */
function passphraseSalt(providers: unknown): string {
  const p = providers as { type?: unknown; state?: { salt?: unknown } } | null;
  if (typeof p !== "object" || p === null || typeof p.type !== "string") throw new ValidationError("secrets_providers", "must be an object {type, state}");
  if (p.type !== PASSPHRASE_PROVIDER) {
    throw new ValidationError("secrets_providers.type", `'${p.type}' is not supported: hostform reads only the passphrase provider`, "run 'pulumi stack change-secrets-provider passphrase' first, or export with --show-secrets");
  }
  const salt = p.state?.salt;
  if (typeof salt !== "string" || salt === "") throw new ValidationError("secrets_providers.state.salt", "must be the passphrase provider's salt state (v1:<salt>:v1:<nonce>:<ciphertext>)");
  return salt;
}

// Pulumi's passphrase secrets provider, byte for byte, so the real `pulumi` CLI with the same
// passphrase reads what hostform writes and the other way round. The format, from Pulumi's
// sdk/go/common/resource/config/crypt.go and pkg/secrets/passphrase/manager.go:
//   key         PBKDF2-HMAC-SHA256(passphrase, salt, 1,000,000 iterations, 32 bytes)
//   value       "v1:" base64(12-byte nonce) ":" base64(AES-256-GCM ciphertext with its 16-byte tag)
//   state       "v1:" base64(8-byte salt) ":" value-of("pulumi")  (Pulumi.<stack>.yaml `encryptionsalt`)
// The encrypted "pulumi" in the state is the check value that tells a wrong passphrase apart.
import { createCipheriv, createDecipheriv, pbkdf2Sync, randomBytes } from "node:crypto";
import { HostformError } from "../../sys/errors";

const PBKDF2_ITERATIONS = 1_000_000;
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const SALT_BYTES = 8;
/** What the state's check value decrypts to under the right passphrase. */
const CHECK_PLAINTEXT = "pulumi";

/** The passphrase does not open the stack's secrets (the check value did not decrypt). */
export class IncorrectPassphraseError extends HostformError {}

/** A ciphertext or salt state that is not in Pulumi's v1 format. */
export class MalformedSecretError extends HostformError {}

/** A well-formed ciphertext that this key did not seal (another passphrase, or altered bytes). */
export class SecretDecryptionError extends HostformError {}

/** AES-256-GCM with one key: Pulumi's symmetricCrypter. */
export class SymmetricCrypter {
  constructor(private readonly key: Buffer) {}

  encrypt(plaintext: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, nonce);
    const sealed = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
    return `v1:${nonce.toString("base64")}:${sealed.toString("base64")}`;
  }

  /** Throws MalformedSecretError for a bad format, SecretDecryptionError for a value this key did not seal. */
  decrypt(value: string): string {
    const parts = value.split(":");
    if (parts.length !== 3) throw new MalformedSecretError("bad value: expected v1:<nonce>:<ciphertext>");
    if (parts[0] !== "v1") throw new MalformedSecretError(`unknown value version '${parts[0]}' (expected v1)`);
    const nonce = strictBase64(parts[1]!, "nonce");
    const sealed = strictBase64(parts[2]!, "ciphertext");
    if (nonce.length !== NONCE_BYTES) throw new MalformedSecretError("bad value: nonce size is incorrect");
    if (sealed.length < TAG_BYTES) throw new MalformedSecretError("bad value: ciphertext is shorter than its tag");
    const decipher = createDecipheriv("aes-256-gcm", this.key, nonce);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]).toString("utf8");
    } catch (err) {
      throw new SecretDecryptionError("the value does not decrypt with this key (another passphrase, or the value was altered)", { cause: err });
    }
  }
}

// PBKDF2 at a million rounds costs about half a second: derive each (passphrase, salt) key once per process.
const keys = new Map<string, Buffer>();

/** Pulumi's NewSymmetricCrypterFromPassphrase. */
export function crypterFromPassphrase(passphrase: string, salt: Buffer): SymmetricCrypter {
  const id = `${salt.toString("base64")}\0${passphrase}`;
  let key = keys.get(id);
  if (key === undefined) {
    key = pbkdf2Sync(Buffer.from(passphrase, "utf8"), salt, PBKDF2_ITERATIONS, KEY_BYTES, "sha256");
    keys.set(id, key);
  }
  return new SymmetricCrypter(key);
}

/** A fresh salt state for `passphrase` (what `pulumi stack init` writes as encryptionsalt). */
export function newPassphraseState(passphrase: string): { state: string; crypter: SymmetricCrypter } {
  const salt = randomBytes(SALT_BYTES);
  const crypter = crypterFromPassphrase(passphrase, salt);
  return { state: `v1:${salt.toString("base64")}:${crypter.encrypt(CHECK_PLAINTEXT)}`, crypter };
}

/**
 * Opens a salt state with `passphrase`: the crypter when its check value decrypts to "pulumi",
 * IncorrectPassphraseError when it does not, MalformedSecretError when the state is not v1.
 */
export function crypterFromState(passphrase: string, state: string): SymmetricCrypter {
  const first = state.indexOf(":");
  const second = state.indexOf(":", first + 1);
  if (first < 0 || second < 0) throw new MalformedSecretError("malformed salt state: expected v1:<salt>:v1:<nonce>:<ciphertext>");
  if (state.slice(0, first) !== "v1") throw new MalformedSecretError(`unknown salt state version '${state.slice(0, first)}' (expected v1)`);
  const crypter = crypterFromPassphrase(passphrase, strictBase64(state.slice(first + 1, second), "salt"));
  let check: string;
  try {
    check = crypter.decrypt(state.slice(second + 1));
  } catch (err) {
    if (!(err instanceof SecretDecryptionError)) throw err;
    throw new IncorrectPassphraseError("incorrect passphrase", { cause: err });
  }
  if (check !== CHECK_PLAINTEXT) throw new IncorrectPassphraseError("incorrect passphrase");
  return crypter;
}

/** Standard base64 as Go's StdEncoding reads it (Node's decoder silently skips bad characters). */
function strictBase64(text: string, what: string): Buffer {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) throw new MalformedSecretError(`bad ${what}: not base64`);
  return Buffer.from(text, "base64");
}

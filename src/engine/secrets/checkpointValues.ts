// Secrets in the checkpoint, as Pulumi's pkg/resource/stack/deployment.go writes them: a secret
// becomes {sig, ciphertext} holding its value's JSON sealed by the stack's secrets provider, or
// {sig, plaintext} in an export with --show-secrets. A secret inside a secret is not sealed twice:
// Pulumi writes it with a no-op encrypter, {sig, ciphertext: <its JSON>}.
import { HostformError } from "../../sys/errors";
import { isSecret, SECRET_SIG, SIG_KEY } from "../propertyValues";
import type { SecretsWriter } from "./stackSecrets";

type Seal = (plaintext: string) => Record<string, string>;

const shown: Seal = (plaintext) => ({ [SIG_KEY]: SECRET_SIG, plaintext });
const unsealed: Seal = (plaintext) => ({ [SIG_KEY]: SECRET_SIG, ciphertext: plaintext });

/** A property value (wire form: secrets are {sig, value}) as the checkpoint stores it. */
export function toCheckpointValue(v: unknown, writer: SecretsWriter): unknown {
  const encrypt = writer.encrypt;
  return encode(v, encrypt === undefined ? shown : (plaintext) => ({ [SIG_KEY]: SECRET_SIG, ciphertext: encrypt(plaintext) }));
}

function encode(v: unknown, seal: Seal): unknown {
  if (isSecret(v)) return seal(JSON.stringify(encode(v.value, seal === shown ? shown : unsealed)));
  if (Array.isArray(v)) return v.map((x) => encode(x, seal));
  if (typeof v === "object" && v !== null) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = encode(x, seal);
    return o;
  }
  return v;
}

/** True when v holds a secret stored in plaintext ({sig, plaintext}), as hostform wrote them before they were encrypted. */
export function holdsPlaintextSecret(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(holdsPlaintextSecret);
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  if (o[SIG_KEY] === SECRET_SIG && typeof o.plaintext === "string") return true;
  return Object.values(o).some(holdsPlaintextSecret);
}

/** Inverse of toCheckpointValue; `decrypt` opens a ciphertext of the deployment's provider. */
export function fromCheckpointValue(v: unknown, decrypt: (ciphertext: string) => string): unknown {
  if (Array.isArray(v)) return v.map((x) => fromCheckpointValue(x, decrypt));
  if (typeof v !== "object" || v === null) return v;
  const o = v as Record<string, unknown>;
  if (o[SIG_KEY] === SECRET_SIG && !("value" in o)) {
    const plaintext = typeof o.plaintext === "string" && o.plaintext !== "" ? o.plaintext : undefined;
    const ciphertext = typeof o.ciphertext === "string" && o.ciphertext !== "" ? o.ciphertext : undefined;
    if ((plaintext === undefined) === (ciphertext === undefined)) throw new HostformError("malformed secret value: exactly one of `ciphertext` or `plaintext` must be supplied");
    const json = plaintext ?? decrypt(ciphertext!);
    let inner: unknown;
    try {
      inner = JSON.parse(json);
    } catch {
      // JSON.parse's message quotes the text it choked on, which is the secret: it is not passed on.
      throw new HostformError(`malformed secret value: its ${plaintext !== undefined ? "plaintext" : "decrypted ciphertext"} is not JSON`);
    }
    return { [SIG_KEY]: SECRET_SIG, value: fromCheckpointValue(inner, (nested) => nested) };
  }
  const r: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) r[k] = fromCheckpointValue(x, decrypt);
  return r;
}

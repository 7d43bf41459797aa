// `secure:` values of Pulumi.<stack>.yaml, as Pulumi's config package reads and writes them: a
// secret string is `{secure: <ciphertext of the string itself>}`; an object or array value may hold
// such leaves (set with --path), and is then a secret as a whole.
import type { StackSecrets } from "./stackSecrets";

/** Pulumi's test for a secure value: a mapping with the one key `secure`, a string. */
export function isSecureValue(v: unknown): v is { secure: string } {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  return keys.length === 1 && keys[0] === "secure" && typeof (v as { secure: unknown }).secure === "string";
}

/** True when v is, or holds, a secure value. */
export function holdsSecureValue(v: unknown): boolean {
  if (isSecureValue(v)) return true;
  if (Array.isArray(v)) return v.some(holdsSecureValue);
  if (typeof v === "object" && v !== null) return Object.values(v).some(holdsSecureValue);
  return false;
}

/** v with every secure leaf decrypted (field names the key in error messages). */
export function decryptSecureValues(v: unknown, secrets: StackSecrets, field: string): unknown {
  if (isSecureValue(v)) return secrets.decryptConfig(v.secure, field);
  if (Array.isArray(v)) return v.map((x, i) => decryptSecureValues(x, secrets, `${field}[${i}]`));
  if (typeof v === "object" && v !== null) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = decryptSecureValues(x, secrets, `${field}.${k}`);
    return o;
  }
  return v;
}

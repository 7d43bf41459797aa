// Registry credentials for skopeo, without ever putting a password on a command line (where
// /proc/<pid>/cmdline shows it to every user): a username and password become a private, short-lived
// auth file; a user's auth file is checked first, because skopeo 1.9 silently ignores a missing one
// and an entry it cannot read (the request then fails as "unauthorized", which misleads).
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ValidationError } from "../sys/errors";
import type { RegistryRef } from "./ref";

export type ImageAuth = { username: string; password: string } | { authFile: string };

/** Normalises an auth-file key ("https://index.docker.io/v1/", "host:5000/ns") to host[/path]. */
function normaliseKey(key: string): string {
  let k = key.replace(/^[a-z]+:\/\//, "");
  // docker config.json keys may carry the API path ("/v1/", "/v2/"); those are not repository paths.
  k = k.replace(/\/v[12]\/?$/, "").replace(/\/+$/, "");
  const [host, ...path] = k.split("/");
  const h = host === "index.docker.io" || host === "registry-1.docker.io" ? "docker.io" : (host ?? "");
  return [h, ...path].join("/");
}

/** Whether an auth-file key applies to the ref: the registry itself, or a namespace that holds the repository. */
function keyCovers(key: string, ref: RegistryRef): boolean {
  const k = normaliseKey(key);
  const full = `${ref.registry}/${ref.repository}`;
  return k === ref.registry || full === k || full.startsWith(`${k}/`);
}

type Json = Record<string, unknown>;

/**
 * Checks a containers-auth.json or docker config.json for an entry skopeo will use for ref: the file
 * exists, is JSON, and has under "auths" an entry with "auth" (base64 user:password) or
 * "identitytoken", or a "credHelpers" entry, for the registry.
 */
export function checkAuthFile(path: string, ref: RegistryRef): void {
  const field = "auth.authFile";
  let text: string;
  try {
    if (!statSync(path).isFile()) throw new ValidationError(field, `${path} is not a file`, "give the path of an auth.json or a docker config.json");
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new ValidationError(field, `${path} cannot be read: ${(err as Error).message}`, "give the path of an existing auth.json (podman login --authfile writes one) or docker config.json", { cause: err });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ValidationError(field, `${path} is not JSON: ${(err as Error).message}`, "fix the file; podman login --authfile <file> writes a valid one", { cause: err });
  }
  const root = (typeof doc === "object" && doc !== null ? doc : {}) as Json;
  const auths = (typeof root.auths === "object" && root.auths !== null ? root.auths : {}) as Json;
  const helpers = (typeof root.credHelpers === "object" && root.credHelpers !== null ? root.credHelpers : {}) as Json;
  if (Object.keys(helpers).some((k) => keyCovers(k, ref))) return;
  const entries = Object.entries(auths).filter(([k]) => keyCovers(k, ref));
  if (entries.length === 0) {
    throw new ValidationError(field, `${path} has no credentials for registry ${ref.registry} (its "auths" has ${Object.keys(auths).map((k) => JSON.stringify(k)).join(", ") || "no entries"})`, `add one with: podman login --authfile ${path} ${ref.registry}`);
  }
  const usable = entries.some(([, v]) => typeof v === "object" && v !== null && (typeof (v as Json).auth === "string" || typeof (v as Json).identitytoken === "string"));
  if (!usable) {
    throw new ValidationError(field, `${path}'s entry for ${ref.registry} has no "auth" field`, 'skopeo reads {"auth": base64("user:password")}, not "username"/"password" fields; podman login --authfile writes the right form');
  }
}

/** Checks the shape of an auth input, naming the field that is wrong. */
export function validateAuth(raw: unknown): ImageAuth {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ValidationError("auth", "must be { username, password } or { authFile }");
  }
  const a = raw as Json;
  if ("authFile" in a && a.authFile !== undefined) {
    if (a.username !== undefined || a.password !== undefined) throw new ValidationError("auth", "gives both authFile and username/password", "give one of them");
    if (typeof a.authFile !== "string" || !a.authFile.startsWith("/")) throw new ValidationError("auth.authFile", "must be an absolute path", "the provider does not run in the program's directory");
    return { authFile: a.authFile };
  }
  if (typeof a.username !== "string" || a.username === "" || a.username.includes(":")) {
    throw new ValidationError("auth.username", "must be a non-empty string without ':'", "registries take user:password, so a ':' in the user name cannot be sent");
  }
  if (typeof a.password !== "string" || a.password === "") throw new ValidationError("auth.password", "must be a non-empty string", "pass it as a secret (pulumi.secret or config --secret)");
  return { username: a.username, password: a.password };
}

/**
 * The auth file to give skopeo for ref, or undefined for an anonymous request. A username and
 * password are written to `<privateDir>/auth.json` (0600); the caller made privateDir 0700 and
 * removes it after the call.
 */
export function authFileFor(auth: ImageAuth | undefined, ref: RegistryRef, privateDir: string): string | undefined {
  if (auth === undefined) return undefined;
  if ("authFile" in auth) {
    checkAuthFile(auth.authFile, ref);
    return auth.authFile;
  }
  const file = join(privateDir, "auth.json");
  const entry = { auth: Buffer.from(`${auth.username}:${auth.password}`).toString("base64") };
  writeFileSync(file, JSON.stringify({ auths: { [ref.registry]: entry } }), { mode: 0o600, flag: "wx" });
  return file;
}

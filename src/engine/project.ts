import { existsSync, readFileSync } from "node:fs";
import { atomicWrite } from "../sys/atomicFile";
import { join, resolve } from "node:path";
import { isMap, parse, parseDocument, type Document } from "yaml";
import { HostformError, SysError, ValidationError } from "../sys/errors";
import { decryptSecureValues, holdsSecureValue } from "./secrets/configValues";
import { StackSecrets } from "./secrets/stackSecrets";

/** Pulumi.yaml, the parts the embedded engine uses. */
export interface Project {
  name: string;
  runtime: string;
  /** Directory holding Pulumi.yaml. */
  dir: string;
  /** Program entry point relative to dir ("." lets cmd/run use package.json). */
  main: string;
  description?: string;
  /** Project-level config declarations: `config: {key: {default: v}}` or `config: {key: v}`. */
  configDefaults: Record<string, unknown>;
}

/** Stack config after merging project defaults with Pulumi.<stack>.yaml, keyed "ns:key". */
export interface StackConfig {
  stack: string;
  file: string;
  /** Secure values decrypted: only the program and the redactor see these. */
  values: Record<string, string>;
  secretKeys: string[];
  /** The stack's secrets manager (its encryptionsalt), for its checkpoint too. */
  secrets: StackSecrets;
}

/** Reads and validates Pulumi.yaml in dir. */
export function loadProject(dir: string): Project {
  const abs = resolve(dir);
  const file = join(abs, "Pulumi.yaml");
  const doc = readYaml(file, "Pulumi.yaml");
  if (doc === undefined) throw new ValidationError("--cwd", `no Pulumi.yaml in ${abs}`, "run hostform in a Pulumi project directory or pass --cwd");
  if (typeof doc !== "object" || doc === null) throw new ValidationError(`${file}`, "is not a YAML mapping");
  const y = doc as Record<string, unknown>;
  if (typeof y.name !== "string" || !/^[A-Za-z0-9_.-]+$/.test(y.name)) {
    throw new ValidationError(`${file}: name`, `must be a project name of letters, digits, '_', '.', '-' (got ${JSON.stringify(y.name)})`);
  }
  const runtime = typeof y.runtime === "string" ? y.runtime : (y.runtime as { name?: unknown } | undefined)?.name;
  if (runtime !== "nodejs") {
    throw new ValidationError(`${file}: runtime`, `must be nodejs (got ${JSON.stringify(runtime)})`, "the embedded engine runs only Node.js programs");
  }
  const main = y.main === undefined ? "." : y.main;
  if (typeof main !== "string") throw new ValidationError(`${file}: main`, "must be a path relative to Pulumi.yaml");
  const defaults: Record<string, unknown> = {};
  if (y.config !== undefined && y.config !== null) {
    if (typeof y.config !== "object") throw new ValidationError(`${file}: config`, "must be a mapping");
    for (const [k, v] of Object.entries(y.config as Record<string, unknown>)) {
      const key = k.includes(":") ? k : `${y.name}:${k}`;
      if (v !== null && typeof v === "object" && !Array.isArray(v)) {
        const decl = v as Record<string, unknown>;
        if ("default" in decl) defaults[key] = decl.default;
        else if ("value" in decl) defaults[key] = decl.value;
      } else {
        defaults[key] = v;
      }
    }
  }
  const project: Project = { name: y.name, runtime, dir: abs, main, configDefaults: defaults };
  if (typeof y.description === "string") project.description = y.description;
  return project;
}

/** Path of Pulumi.<stack>.yaml. */
export function stackConfigFile(project: Project, stack: string): string {
  return join(project.dir, `Pulumi.${stack}.yaml`);
}

/**
 * Reads Pulumi.<stack>.yaml (missing = empty) and merges project defaults under it. Values become
 * strings as Pulumi passes them (objects as JSON). `secure:` values are decrypted with the stack's
 * passphrase (needed only when there are some) and listed in secretKeys. With `onlyKey`, only that
 * key's secure value is decrypted (the others are left out), so reading a plain key needs no passphrase.
 */
export function loadStackConfig(project: Project, stack: string, onlyKey?: string): StackConfig {
  validateStackName(stack);
  const file = stackConfigFile(project, stack);
  const values: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [k, v] of Object.entries(project.configDefaults)) values[k] = configString(v);
  const doc = readYaml(file, `Pulumi.${stack}.yaml`);
  const secrets = stackSecretsOf(stack, file, doc);
  const config = doc !== undefined && doc !== null ? (doc as Record<string, unknown>).config : undefined;
  if (config !== undefined && config !== null) {
    if (typeof config !== "object") throw new ValidationError(`${file}: config`, "must be a mapping");
    for (const [k, v] of Object.entries(config as Record<string, unknown>)) {
      const key = k.includes(":") ? k : `${project.name}:${k}`;
      if (holdsSecureValue(v)) {
        secretKeys.push(key);
        if (onlyKey !== undefined && key !== onlyKey) continue;
        values[key] = configString(decryptSecureValues(v, secrets, `${file}: config.${k}`));
      } else {
        values[key] = configString(v);
      }
    }
  }
  return { stack, file, values, secretKeys, secrets };
}

/** The stack's secrets manager, from the encryptionsalt of Pulumi.<stack>.yaml. */
export function openStackSecrets(project: Project, stack: string): StackSecrets {
  validateStackName(stack);
  const file = stackConfigFile(project, stack);
  return stackSecretsOf(stack, file, readYaml(file, `Pulumi.${stack}.yaml`));
}

function stackSecretsOf(stack: string, file: string, doc: unknown): StackSecrets {
  const salt = doc !== undefined && doc !== null && typeof doc === "object" ? (doc as Record<string, unknown>).encryptionsalt : undefined;
  if (salt !== undefined && salt !== null && typeof salt !== "string") throw new ValidationError(`${file}: encryptionsalt`, "must be a string (v1:<salt>:v1:<nonce>:<ciphertext>)");
  return new StackSecrets({
    stack,
    salt: typeof salt === "string" && salt !== "" ? salt : undefined,
    saveSalt: (state) => {
      const d = readYamlDocument(file, `Pulumi.${stack}.yaml`);
      // First in the file, where `pulumi stack init` puts it.
      if (isMap(d.contents)) d.contents.items.unshift(d.createPair("encryptionsalt", state));
      else d.set("encryptionsalt", state);
      writeYamlDocument(file, d);
    },
  });
}

/** Environment that hands config to the program the way the Pulumi CLI does. */
export function configEnvironment(config: StackConfig): Record<string, string> {
  return {
    PULUMI_CONFIG: JSON.stringify(config.values),
    PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(config.secretKeys),
  };
}

/**
 * Sets one key in Pulumi.<stack>.yaml, creating the file when needed; comments and order are kept.
 * A secret is stored as `{secure: <ciphertext>}` under the stack's passphrase (the first one
 * creates the file's encryptionsalt).
 */
export function setStackConfigValue(project: Project, stack: string, key: string, value: string, secret = false): void {
  validateStackName(stack);
  const full = configKey(project, key);
  const file = stackConfigFile(project, stack);
  // Sealing may write the encryptionsalt first: the document is read after it.
  const stored = secret ? { secure: openStackSecrets(project, stack).requireSealing().encrypt(value) } : value;
  const doc = readYamlDocument(file, `Pulumi.${stack}.yaml`);
  doc.setIn(["config", full], stored);
  writeYamlDocument(file, doc);
}

/** Removes one key from Pulumi.<stack>.yaml; returns false when it was not set there. */
export function removeStackConfigValue(project: Project, stack: string, key: string): boolean {
  validateStackName(stack);
  const full = configKey(project, key);
  const file = stackConfigFile(project, stack);
  if (!existsSync(file)) return false;
  const doc = readYamlDocument(file, `Pulumi.${stack}.yaml`);
  // The file may spell the key without the project namespace, as Pulumi accepts.
  const spelled = [full, full.startsWith(`${project.name}:`) ? full.slice(project.name.length + 1) : undefined].find((k) => k !== undefined && doc.hasIn(["config", k]));
  if (spelled === undefined) return false;
  doc.deleteIn(["config", spelled]);
  writeYamlDocument(file, doc);
  return true;
}

/**
 * "ns:name" for a config key given as "name" (the project's namespace) or "ns:name". Pulumi
 * rejects keys with more than one ':' and empty parts; so does this.
 */
export function configKey(project: Project, key: string): string {
  const parts = key.split(":");
  if (parts.length > 2 || parts.some((p) => p === "") || /\s/.test(key)) {
    throw new ValidationError("KEY", `'${key}' is not a configuration key`, "use <name> or <namespace>:<name>, e.g. region or aws:region");
  }
  return parts.length === 2 ? key : `${project.name}:${key}`;
}

function readYamlDocument(file: string, what: string): Document {
  let text = "";
  try {
    if (existsSync(file)) text = readFileSync(file, "utf8");
  } catch (err) {
    throw SysError.fromNode(err, `read ${what}`);
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new HostformError(`${file}: invalid YAML: ${doc.errors[0]?.message ?? ""}`);
  if (doc.contents === null) doc.contents = doc.createNode({}) as unknown as typeof doc.contents;
  const config = doc.get("config");
  if (config !== undefined && config !== null && !isMap(config)) throw new ValidationError(`${file}: config`, "must be a mapping");
  return doc;
}

/** Replaced atomically: a full disk must not leave the stack's config cut short. */
function writeYamlDocument(file: string, doc: Document): void {
  atomicWrite(file, doc.toString(), { mode: 0o644 });
}

/** Stack names become file names; keep them to what Pulumi allows. */
export function validateStackName(stack: string): void {
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(stack) || stack === "." || stack === "..") {
    throw new ValidationError("--stack", `'${stack}' is not a valid stack name`, "use letters, digits, '_', '.', '-'");
  }
}

function configString(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

function readYaml(file: string, what: string): unknown {
  if (!existsSync(file)) return undefined;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw SysError.fromNode(err, `read ${what}`);
  }
  try {
    return parse(text);
  } catch (err) {
    throw new HostformError(`${file}: invalid YAML: ${(err as Error).message}`, { cause: err });
  }
}

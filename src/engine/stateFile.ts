import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { atomicWrite, atomicWriteAsync, backupPath } from "../sys/atomicFile";
import { CorruptFileError, hasCode, SysError, withContext } from "../sys/errors";
import type { PropertyMap } from "./propertyValues";
import { fromCheckpointValue, holdsPlaintextSecret, toCheckpointValue } from "./secrets/checkpointValues";
import type { SecretsProviders, SecretsReader, SecretsWriter } from "./secrets/stackSecrets";
import { sortByDependencies, type PendingOperation, type ResourceState, type Snapshot } from "./state";

/** Version written into manifests; the magic is derived from it as Pulumi does. */
export const ENGINE_VERSION = "hostform-0.1.0";

/**
 * Root of hostform's state: `$HOSTFORM_STATE_DIR`, else `~/.hostform/state`. It is laid out like
 * Pulumi's local backend, so `pulumi login file://<dir>` can read the same stacks.
 */
export function stateDir(): string {
  return process.env.HOSTFORM_STATE_DIR ?? join(homedir(), ".hostform", "state");
}

/** `<dir>/.pulumi/stacks/<project>/<stack>.json` (project-scoped layout, meta.yaml version 1). */
export function checkpointPath(project: string, stack: string, dir: string = stateDir()): string {
  return join(dir, ".pulumi", "stacks", project, `${stack}.json`);
}

/** Pulumi's apitype.DeploymentV3, with resources in their encoded (ResourceV3) form. */
export interface DeploymentV3 {
  manifest: { time: string; magic: string; version: string };
  /** How the ciphertexts of its secrets were sealed (absent: it holds none). */
  secrets_providers?: SecretsProviders;
  resources?: Record<string, unknown>[];
  pending_operations?: { resource: Record<string, unknown>; type: string }[];
}

/** Pulumi's apitype.CheckpointV3 file. */
export interface CheckpointFile {
  version: number;
  checkpoint: {
    stack: string;
    latest?: DeploymentV3;
  };
}

/** Reads the stack's checkpoint, decrypting its secrets; undefined when the stack has none yet. */
export function readCheckpoint(project: string, stack: string, secrets: SecretsReader, dir: string = stateDir()): Snapshot | undefined {
  const doc = readCheckpointDocument(project, stack, dir);
  return doc === undefined ? undefined : snapshotFromDeployment(doc.checkpoint?.latest, secrets);
}

/** The stack's checkpoint as stored (secrets still sealed); undefined when the stack has none yet. */
export function readCheckpointDocument(project: string, stack: string, dir: string = stateDir()): CheckpointFile | undefined {
  const file = checkpointPath(project, stack, dir);
  if (!existsSync(file)) return undefined;
  let doc: CheckpointFile;
  try {
    doc = JSON.parse(readFileSync(file, "utf8")) as CheckpointFile;
  } catch (err) {
    if (err instanceof SyntaxError) throw new CorruptFileError(file, `is not valid JSON (${err.message}); ${restoreHint(file)}`, { cause: err });
    throw SysError.fromNode(err, "read checkpoint");
  }
  if (doc.version !== 3) throw new CorruptFileError(file, `has checkpoint version ${doc.version}, and hostform reads version 3; ${restoreHint(file)}`);
  return doc;
}

/**
 * What to do about a damaged checkpoint: restore the backup every write keeps, when there is one
 * that reads; otherwise the only ways left.
 */
function restoreHint(file: string): string {
  const bak = backupPath(file);
  if (existsSync(bak)) {
    try {
      const doc = JSON.parse(readFileSync(bak, "utf8")) as CheckpointFile;
      if (doc.version === 3) return `the previous checkpoint is in ${bak} (written ${doc.checkpoint?.latest?.manifest?.time ?? "at an unknown time"}): restore it with 'cp ${bak} ${file}'`;
    } catch {
      // A backup that does not read either is not worth pointing at; fall through.
    }
  }
  return `there is no readable backup (${bak}): repair the file by hand, or move it away and take the live objects back with 'import'`;
}

/**
 * Writes the checkpoint atomically (a crash or a full disk leaves the old file or the new one, never
 * a torn one) and keeps the one it replaces as `<file>.bak`, as Pulumi's file backend does.
 */
export function writeCheckpoint(project: string, stack: string, snapshot: Snapshot, secrets: SecretsWriter, dir: string = stateDir()): void {
  const file = checkpointPath(project, stack, dir);
  const text = checkpointText(project, stack, snapshot, secrets);
  ensureLayout(dir, dirname(file));
  atomicWrite(file, text, { backup: true });
}

/**
 * writeCheckpoint without blocking the event loop during fsync. The snapshot is serialized before
 * the first await, so later edits to the resources never leak into this write.
 */
export async function writeCheckpointAsync(project: string, stack: string, snapshot: Snapshot, secrets: SecretsWriter, dir: string = stateDir()): Promise<void> {
  const file = checkpointPath(project, stack, dir);
  const text = checkpointText(project, stack, snapshot, secrets);
  ensureLayout(dir, dirname(file));
  await atomicWriteAsync(file, text, { backup: true });
}

/**
 * Rewrites the checkpoint and its backup with their secrets sealed when they hold any in plaintext
 * (as hostform wrote them before secrets were encrypted), keeping each file's content and manifest.
 * The backup is a hard link to an older checkpoint, so it is rewritten on its own: sealing only the
 * checkpoint would leave the plaintext at rest under the backup's name.
 */
export function sealPlaintextSecrets(project: string, stack: string, secrets: SecretsReader & SecretsWriter, dir: string = stateDir()): void {
  const file = checkpointPath(project, stack, dir);
  for (const f of [file, backupPath(file)]) {
    let text: string;
    try {
      text = readFileSync(f, "utf8");
    } catch (err) {
      if (hasCode(err, "ENOENT")) continue;
      throw SysError.fromNode(err, `read ${f}`);
    }
    // Most checkpoints hold no plaintext secret: only those are parsed.
    if (!text.includes('"plaintext"')) continue;
    let doc: CheckpointFile;
    try {
      doc = JSON.parse(text) as CheckpointFile;
    } catch (err) {
      // A checkpoint that does not parse fails its own read; a damaged backup is left for a person to look at.
      if (f === file) throw new CorruptFileError(file, `is not valid JSON; ${restoreHint(file)}`, { cause: err });
      continue;
    }
    const latest = doc.checkpoint?.latest;
    if (latest === undefined || !holdsPlaintextSecret(latest.resources) && !holdsPlaintextSecret(latest.pending_operations)) continue;
    const sealed = { ...deploymentDocument(snapshotFromDeployment(latest, secrets), secrets), manifest: latest.manifest };
    atomicWrite(f, JSON.stringify({ ...doc, checkpoint: { ...doc.checkpoint, latest: sealed } }, null, 4) + "\n");
  }
}

/** The checkpoint file's text for a snapshot (resources put in dependency order, secrets sealed by `secrets`). */
export function checkpointText(project: string, stack: string, snapshot: Snapshot, secrets: SecretsWriter): string {
  return JSON.stringify(checkpointDocument(project, stack, snapshot, secrets), null, 4) + "\n";
}

/** The version-3 checkpoint document for a snapshot. */
export function checkpointDocument(project: string, stack: string, snapshot: Snapshot, secrets: SecretsWriter): CheckpointFile {
  const doc: CheckpointFile = {
    version: 3,
    checkpoint: {
      stack: `organization/${project}/${stack}`,
      latest: deploymentDocument(snapshot, secrets),
    },
  };
  return doc;
}

/** Pulumi's apitype.DeploymentV3: manifest, secrets provider, resources in dependency order, pending operations. */
export function deploymentDocument(snapshot: Snapshot, secrets: SecretsWriter): DeploymentV3 {
  const resources = sortByDependencies(snapshot.resources).map((r) => encodeResource(r, secrets));
  const pending = snapshot.pendingOperations.map((op) => ({ resource: encodeResource(op.resource, secrets), type: op.type }));
  const d: DeploymentV3 = { manifest: { time: new Date().toISOString(), magic: manifestMagic(ENGINE_VERSION), version: ENGINE_VERSION } };
  // Asked after the secrets are sealed: sealing the stack's first secret creates its provider.
  const providers = secrets.providers();
  if (providers !== undefined) d.secrets_providers = providers;
  d.resources = resources;
  if (pending.length > 0) d.pending_operations = pending;
  return d;
}

/** The manifest magic Pulumi checks: hex sha256 of the version string. */
export function manifestMagic(version: string): string {
  return createHash("sha256").update(version).digest("hex");
}

/** Decodes a DeploymentV3 (the `latest` of a checkpoint, or an export's `deployment`), decrypting its secrets. */
export function snapshotFromDeployment(latest: DeploymentV3 | undefined, secrets: SecretsReader): Snapshot {
  const decrypt = secrets.decrypter(latest?.secrets_providers);
  return {
    resources: (latest?.resources ?? []).map((r) => decodeResource(r, decrypt)),
    pendingOperations: (latest?.pending_operations ?? []).map((op) => ({ resource: decodeResource(op.resource, decrypt), type: op.type as PendingOperation["type"] })),
  };
}

/** Removes the stack's checkpoint (after `destroy` the stack itself stays; this is for `stack rm`). */
export function removeCheckpoint(project: string, stack: string, dir: string = stateDir()): void {
  rmSync(checkpointPath(project, stack, dir), { force: true });
}

function ensureLayout(dir: string, stacksDir: string): void {
  try {
    mkdirSync(stacksDir, { recursive: true, mode: 0o700 });
    const meta = join(dir, ".pulumi", "meta.yaml");
    // Pulumi's file backend reads project-scoped stack paths only when meta.yaml says version 1.
    if (!existsSync(meta)) atomicWrite(meta, "version: 1\n");
  } catch (err) {
    throw SysError.fromNode(err, `create state directory ${stacksDir}`);
  }
}

function encodeResource(r: ResourceState, secrets: SecretsWriter): Record<string, unknown> {
  const o: Record<string, unknown> = { urn: r.urn, custom: r.custom };
  if (r.delete === true) o.delete = true;
  if (r.id !== undefined && r.id !== "") o.id = r.id;
  o.type = r.type;
  if (Object.keys(r.inputs).length > 0) o.inputs = toCheckpointValue(r.inputs, secrets);
  if (Object.keys(r.outputs).length > 0) o.outputs = toCheckpointValue(r.outputs, secrets);
  if (r.parent) o.parent = r.parent;
  if (r.protect === true) o.protect = true;
  if (r.dependencies.length > 0) o.dependencies = r.dependencies;
  if (r.provider) o.provider = r.provider;
  if (r.propertyDependencies !== undefined && Object.keys(r.propertyDependencies).length > 0) o.propertyDependencies = r.propertyDependencies;
  if (r.pendingReplacement === true) o.pendingReplacement = true;
  if (r.additionalSecretOutputs !== undefined && r.additionalSecretOutputs.length > 0) o.additionalSecretOutputs = r.additionalSecretOutputs;
  if (r.retainOnDelete === true) o.retainOnDelete = true;
  if (r.ignoreChanges !== undefined && r.ignoreChanges.length > 0) o.ignoreChanges = r.ignoreChanges;
  if (r.replaceOnChanges !== undefined && r.replaceOnChanges.length > 0) o.replaceOnChanges = r.replaceOnChanges;
  if (r.created !== undefined) o.created = r.created;
  if (r.modified !== undefined) o.modified = r.modified;
  return o;
}

function decodeResource(o: Record<string, unknown>, decrypt: (ciphertext: string) => string): ResourceState {
  const props = (v: unknown, field: string): PropertyMap => {
    try {
      return (fromCheckpointValue(v ?? {}, decrypt) ?? {}) as PropertyMap;
    } catch (err) {
      throw withContext(err, `${String(o.urn)} ${field}`);
    }
  };
  const r: ResourceState = {
    urn: String(o.urn),
    type: String(o.type),
    custom: o.custom === true,
    inputs: props(o.inputs, "inputs"),
    outputs: props(o.outputs, "outputs"),
    dependencies: Array.isArray(o.dependencies) ? (o.dependencies as string[]) : [],
  };
  if (typeof o.id === "string") r.id = o.id;
  if (typeof o.parent === "string") r.parent = o.parent;
  if (o.protect === true) r.protect = true;
  if (o.retainOnDelete === true) r.retainOnDelete = true;
  if (o.delete === true) r.delete = true;
  if (o.pendingReplacement === true) r.pendingReplacement = true;
  if (typeof o.provider === "string") r.provider = o.provider;
  if (o.propertyDependencies !== undefined) r.propertyDependencies = o.propertyDependencies as Record<string, string[]>;
  if (Array.isArray(o.additionalSecretOutputs)) r.additionalSecretOutputs = o.additionalSecretOutputs as string[];
  if (Array.isArray(o.ignoreChanges)) r.ignoreChanges = o.ignoreChanges as string[];
  if (Array.isArray(o.replaceOnChanges)) r.replaceOnChanges = o.replaceOnChanges as string[];
  if (typeof o.created === "string") r.created = o.created;
  if (typeof o.modified === "string") r.modified = o.modified;
  return r;
}

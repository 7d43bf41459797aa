import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { HostformError, SysError, ValidationError, withContext } from "../sys/errors";
import { lockPath, readHolder, acquireStackLock } from "./stackLock";
import type { SecretsReader, StackSecrets } from "./secrets/stackSecrets";
import { checkpointPath, deploymentDocument, readCheckpoint, readCheckpointDocument, snapshotFromDeployment, stateDir, writeCheckpoint, type CheckpointFile, type DeploymentV3 } from "./stateFile";
import { providerUrn, type Snapshot } from "./state";
import { validateStackName } from "./project";

/** One stack as `stack ls` shows it (the fields of `pulumi stack ls --json`). */
export interface StackSummary {
  name: string;
  /** The stack commands use when --stack is not given. */
  current: boolean;
  /** Time of the last write of its state (the manifest time). */
  lastUpdate?: string;
  /** A process holds the stack's lock. */
  updateInProgress: boolean;
  resourceCount: number;
  /** Why its state could not be read (the stack is still listed; `stack export` says more). */
  problem?: string;
}

/** Pulumi's apitype.UntypedDeployment, as `pulumi stack export` prints and `import` takes. */
export interface UntypedDeployment {
  version: 3;
  deployment: DeploymentV3;
}

/** Stacks of `project` that have state under `dir`, sorted by name. */
export function listStacks(project: string, current: string, dir: string = stateDir()): StackSummary[] {
  const stacksDir = join(dir, ".pulumi", "stacks", project);
  let names: string[];
  try {
    names = existsSync(stacksDir) ? readdirSync(stacksDir).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -".json".length)) : [];
  } catch (err) {
    throw SysError.fromNode(err, `list stacks in ${stacksDir}`);
  }
  return names.sort().map((name) => {
    const read = readCheckpointFile(project, name, dir);
    const doc = "doc" in read ? read.doc : undefined;
    const s: StackSummary = {
      name,
      current: name === current,
      updateInProgress: readHolder(lockPath(project, name, dir)) !== undefined,
      resourceCount: doc?.checkpoint.latest?.resources?.length ?? 0,
    };
    const time = doc?.checkpoint.latest?.manifest?.time;
    if (time !== undefined) s.lastUpdate = time;
    if ("problem" in read) s.problem = read.problem;
    return s;
  });
}

/**
 * The stack's latest deployment in export form; fails when the stack has no state. As stored, its
 * secrets sealed (no passphrase needed), unless `showSecretsWith` is given: then they are decrypted
 * and written as plaintext, as `pulumi stack export --show-secrets` does.
 */
export function exportStack(project: string, stack: string, showSecretsWith: StackSecrets | undefined, dir: string = stateDir()): UntypedDeployment {
  validateStackName(stack);
  const noState = (): HostformError => new HostformError(`stack '${stack}' of project '${project}' has no state (no ${checkpointPath(project, stack, dir)}); run 'hostform up' first`);
  if (showSecretsWith === undefined) {
    const latest = readCheckpointDocument(project, stack, dir)?.checkpoint.latest;
    if (latest === undefined) throw noState();
    return { version: 3, deployment: latest };
  }
  const snapshot = readCheckpoint(project, stack, showSecretsWith, dir);
  if (snapshot === undefined) throw noState();
  return { version: 3, deployment: deploymentDocument(snapshot, showSecretsWith.showing()) };
}

/**
 * Validates an exported deployment and makes it the stack's state, under the stack lock. Returns
 * the imported snapshot. Nothing is written when validation fails.
 */
export function importStack(project: string, stack: string, doc: unknown, command: string, warn: (msg: string) => void, secrets: StackSecrets, dir: string = stateDir()): Snapshot {
  validateStackName(stack);
  const snapshot = validateDeployment(project, stack, doc, secrets);
  const lock = acquireStackLock(project, stack, command, warn, dir);
  try {
    // Secrets are sealed again under the stack's own passphrase provider.
    writeCheckpoint(project, stack, snapshot, secrets, dir);
  } finally {
    lock.release();
  }
  if (snapshot.pendingOperations.length > 0) {
    warn(`the deployment has ${snapshot.pendingOperations.length} pending operation(s); the next 'hostform up' re-reads or re-creates those resources`);
  }
  return snapshot;
}

/**
 * Removes the stack's state (and lock directory). Refuses while the state holds resources unless
 * `force`: those resources would stay on the host with nothing left to manage them.
 */
export function removeStack(project: string, stack: string, force: boolean, command: string, warn: (msg: string) => void, dir: string = stateDir()): { removedResources: number } {
  validateStackName(stack);
  const file = checkpointPath(project, stack, dir);
  if (!existsSync(file)) throw new HostformError(`stack '${stack}' of project '${project}' does not exist (no ${file})`);
  const lock = acquireStackLock(project, stack, command, warn, dir);
  let count: number;
  try {
    // Counted as stored: removing a stack needs no passphrase.
    count = readCheckpointDocument(project, stack, dir)?.checkpoint.latest?.resources?.length ?? 0;
    if (count > 0 && !force) {
      throw new HostformError(
        `stack '${stack}' still has ${count} resource(s); run 'hostform destroy --stack ${stack}' first, or pass --force to forget them (they stay on the host, unmanaged)`,
      );
    }
    rmSync(file, { force: true });
    rmSync(`${file}.bak`, { force: true });
  } finally {
    lock.release();
  }
  rmSync(join(lockPath(project, stack, dir), ".."), { recursive: true, force: true });
  return { removedResources: count };
}

/** The checkpoint as stored, or why it cannot be read: a damaged file still lists its stack. */
function readCheckpointFile(project: string, stack: string, dir: string): { doc: CheckpointFile } | { problem: string } {
  const file = checkpointPath(project, stack, dir);
  try {
    return { doc: JSON.parse(readFileSync(file, "utf8")) as CheckpointFile };
  } catch (err) {
    return { problem: `${file}: ${(err as Error).message}` };
  }
}

/**
 * Checks an UntypedDeployment the way Pulumi's snapshot integrity check does: version 3, a
 * manifest, every resource with a URN of this stack and project whose type matches, no duplicate
 * live URN, and parents, providers and dependencies that appear earlier in the list.
 */
export function validateDeployment(project: string, stack: string, doc: unknown, secrets: SecretsReader): Snapshot {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new ValidationError("deployment", "must be a JSON object {version, deployment}", "pass the output of 'hostform stack export' or 'pulumi stack export'");
  const d = doc as Record<string, unknown>;
  if (d.version !== 3) throw new ValidationError("version", `must be 3 (got ${JSON.stringify(d.version)})`, "export the stack with a Pulumi version that writes deployment version 3");
  const dep = d.deployment;
  if (typeof dep !== "object" || dep === null || Array.isArray(dep)) throw new ValidationError("deployment", "must be an object with manifest and resources");
  const dv = dep as Record<string, unknown>;
  if (typeof dv.manifest !== "object" || dv.manifest === null) throw new ValidationError("deployment.manifest", "is missing");
  const resources = dv.resources ?? [];
  if (!Array.isArray(resources)) throw new ValidationError("deployment.resources", "must be an array");
  const seen = new Set<string>();
  const live = new Set<string>();
  const prefix = `urn:pulumi:${stack}::${project}::`;
  resources.forEach((r: unknown, i: number) => {
    const at = `deployment.resources[${i}]`;
    if (typeof r !== "object" || r === null) throw new ValidationError(at, "must be an object");
    const o = r as Record<string, unknown>;
    if (typeof o.urn !== "string" || !o.urn.startsWith(prefix)) {
      throw new ValidationError(`${at}.urn`, `${JSON.stringify(o.urn)} is not a URN of stack '${stack}' in project '${project}' (expected ${prefix}<type>::<name>)`, "import into the stack the deployment was exported from (--stack)");
    }
    const qualified = o.urn.slice(prefix.length).split("::")[0] ?? "";
    if (typeof o.type !== "string" || qualified.split("$").pop() !== o.type) throw new ValidationError(`${at}.type`, `${JSON.stringify(o.type)} does not match the URN ${o.urn}`);
    if (o.custom !== undefined && typeof o.custom !== "boolean") throw new ValidationError(`${at}.custom`, "must be a boolean");
    const needs: [string, unknown][] = [["parent", o.parent], ["provider", typeof o.provider === "string" ? providerUrn(o.provider) : o.provider]];
    if (o.dependencies !== undefined) {
      if (!Array.isArray(o.dependencies)) throw new ValidationError(`${at}.dependencies`, "must be an array of URNs");
      for (const u of o.dependencies) needs.push(["dependencies", u]);
    }
    for (const [field, urn] of needs) {
      if (urn === undefined || urn === "") continue;
      if (typeof urn !== "string") throw new ValidationError(`${at}.${field}`, "must be a URN string");
      if (!seen.has(urn)) throw new ValidationError(`${at}.${field}`, `refers to ${urn}, which does not appear before this resource`, "resources must be listed in dependency order, as Pulumi writes them");
    }
    if (o.delete !== true) {
      if (live.has(o.urn)) throw new ValidationError(`${at}.urn`, `${o.urn} appears twice`);
      live.add(o.urn);
    }
    seen.add(o.urn);
  });
  const pending = dv.pending_operations ?? [];
  if (!Array.isArray(pending)) throw new ValidationError("deployment.pending_operations", "must be an array");
  pending.forEach((p: unknown, i: number) => {
    const o = p as Record<string, unknown> | null;
    if (o === null || typeof o !== "object" || !["creating", "updating", "deleting", "reading"].includes(String(o.type)) || typeof o.resource !== "object") {
      throw new ValidationError(`deployment.pending_operations[${i}]`, "must be {resource, type} with type creating, updating, deleting or reading");
    }
  });
  try {
    return snapshotFromDeployment(dv as unknown as DeploymentV3, secrets);
  } catch (err) {
    throw withContext(err, "deployment");
  }
}

// Namespace sets: named groups of namespaces pinned under <nsDir>/<name>/<type>, which outlive
// the process that made them. Layout of one set:
//   <nsDir>/<name>/net, uts, ...     bind mounts of nsfs files (the pins)
//   <nsDir>/<name>/hostform-ns.json  types, holder identity, creation time, pin inodes
// <nsDir> itself is a private bind mount of itself (see pin.ts).
//
// Only a set that includes pid has a holder process: every other type is pinned straight from the
// worker thread that unshared it (through descriptors it opened, see unshareWorker.ts), so no
// process is kept for it. A PID namespace dies with its init whatever is pinned, so pid needs
// one; and then all the set's types are pinned from the holder, which is in all of them.
//
// Not safe against two processes creating or deleting the same name at the same moment: callers
// (one provider operation per resource) serialize per name.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Owner } from "../sys/owner";
import { nsDir } from "../sys/paths";
import { afterUndo, hasCode, HostformError, NotFoundError, SysError, ValidationError, withContext } from "../sys/errors";
import { cloneFlags, NAMESPACE_TYPES, type NamespaceType, procNsPath, validateNamespaceTypes } from "./types";
import { isValidSetName, validateSetName } from "./setName";
import { ensurePrivateMount, nsInode, pinnedInode, pinNamespace, unpinNamespace } from "./pin";
import { type HolderIdentity, holderSpawn, identifyHolder, isHolderAlive, killHolder } from "./holder";
import { type NamespaceSetMetadata, readMetadata, writeMetadata } from "./metadata";
import { unshareInWorker } from "./unshareWorker";
import { spawnUserNamespaceHolder, type SetIdMappings } from "./userHolder";
import { idMapText, parseIdMap } from "./idMapping";
import { commandCanMake, unshareToPins } from "./unshareCommand";

/** The live state of a namespace set, read from the pins, the metadata and /proc. */
export interface NamespaceSetInfo {
  name: string;
  /** <nsDir>/<name> */
  dir: string;
  /** Types of the set in canonical order (from the metadata; from the pin files when it is missing). */
  types: NamespaceType[];
  /** Pin path of each type: what `nsenter --net=<path>` or setns takes. */
  paths: Partial<Record<NamespaceType, string>>;
  /** nsfs inode of each pinned type (the number `ls -l /proc/<pid>/ns` shows); absent when not pinned. */
  inodes: Partial<Record<NamespaceType, number>>;
  /** The PID 1 of the set's PID namespace (sets with pid only). */
  holder?: HolderIdentity & { alive: boolean };
  /** ISO 8601 creation time, from the metadata. */
  createdAt?: string;
  /** Who owns the set, from the metadata; absent when it records none. */
  owner?: Owner;
  /** True when every type is pinned (and, with pid, the holder lives in the pinned PID namespace). */
  intact: boolean;
  /** Why the set is not intact; empty when it is. */
  problems: string[];
  /** With a user namespace: the mappings it was made with (the live ones are checked against them). */
  idMappings?: SetIdMappings;
}

/**
 * Creates the namespace set `name` with the given types, or adopts it when it already exists with
 * the same types and is intact (same namespaces, same inodes). An existing set with other types is
 * a ValidationError naming `types`. A set that is broken (a pin or its holder gone, metadata
 * missing after a crash) cannot be repaired, since a lost namespace cannot be re-entered, so it is
 * deleted and created afresh. On failure nothing is left: no mount, file, directory or holder.
 */
export async function createNamespaces(name: string, types: readonly string[], owner?: Owner, options: { idMappings?: SetIdMappings } = {}): Promise<NamespaceSetInfo> {
  validateSetName(name);
  const wanted = validateNamespaceTypes(types);
  const withUser = wanted.includes("user");
  if (withUser && options.idMappings === undefined) throw new ValidationError("userns", "a set with a user namespace needs its id mappings", 'give userns "auto" or {uidMappings, gidMappings}');
  if (!withUser && options.idMappings !== undefined) throw new ValidationError("userns", "id mappings need a user namespace in the set", 'add "user" to types');
  // A new mount namespace owned by the set's user namespace would hold copies of every other set's
  // pins, locked there (no longer to be detached as the unshare worker detaches them).
  if (withUser && wanted.includes("mnt")) throw new ValidationError("types", "a set with a user namespace cannot have a mount namespace yet", "drop mnt: each container gets a mount namespace of its own anyway");
  const root = nsDir();
  ensurePrivateMount(root);

  const existing = inspectNamespaces(name);
  if (existing !== undefined) {
    if (readMetadata(existing.dir) !== undefined && !sameTypes(existing.types, wanted)) {
      throw new ValidationError(
        "types",
        `namespace set "${name}" already exists with types ${existing.types.join(", ")}, not ${wanted.join(", ")}`,
        `declare the same types or delete the set first`,
      );
    }
    if (existing.intact) return existing;
    await deleteNamespaces(name);
  }

  const dir = join(root, name);
  try {
    mkdirSync(dir, { mode: 0o755 });
  } catch (err) {
    throw withContext(err, `create namespace set ${name}`);
  }
  const made: string[] = [];
  let holder: HolderIdentity | undefined;
  try {
    const meta: NamespaceSetMetadata = { version: 1, name, types: wanted, createdAt: new Date().toISOString() };
    if (owner !== undefined) meta.owner = owner;
    if (withUser) {
      meta.idMappings = options.idMappings!;
      holder = identifyHolder(await spawnUserNamespaceHolder(options.idMappings!, cloneFlags(wanted)));
      // Recorded before pinning, so that a crash from here on leaves a holder that delete can find.
      meta.holder = holder;
      writeMetadata(dir, meta);
      for (const type of wanted) {
        const target = join(dir, type);
        pinNamespace(procNsPath(type, holder.pid), target, `pin ${type} namespace of ${name} at ${target}`);
        made.push(target);
      }
      if (wanted.includes("net")) loopbackUpIn(join(dir, "net"));
    } else if (commandCanMake(wanted)) {
      // Pins first recorded, so that undo finds every one unshare(1) may have mounted.
      const pins: Partial<Record<NamespaceType, string>> = {};
      for (const type of wanted) pins[type] = join(dir, type);
      made.push(...Object.values(pins));
      await unshareToPins(pins, wanted.includes("net")).catch((err: unknown) => {
        throw withContext(err, `unshare ${wanted.join(", ")} namespaces for ${name}`);
      });
    } else {
      const withMnt = wanted.includes("mnt");
      const thread = await unshareInWorker({
        flags: cloneFlags(wanted),
        // Like unshare(1): mounts made inside must not propagate back to the host. And the new mount
        // namespace should not hold copies of other sets' pins, which would keep them alive.
        ...(withMnt ? { rootPropagation: "private" as const, detachMounts: [root] } : {}),
        ...(wanted.includes("pid") ? { spawn: holderSpawn() } : {}),
        // A new network namespace has only lo, and down: nothing in it, 127.0.0.1 included, is reachable.
        ...(wanted.includes("net") ? { loopbackUp: true } : {}),
      }).catch((err: unknown) => {
        throw withContext(err, `unshare ${wanted.join(", ")} namespaces for ${name}`);
      });
      try {
        if (thread.childPid !== undefined) {
          holder = identifyHolder(thread.childPid);
          // Recorded before pinning, so that a crash from here on leaves a holder that delete can find.
          meta.holder = holder;
          writeMetadata(dir, meta);
        }
        for (const type of wanted) {
          const target = join(dir, type);
          const source = holder !== undefined ? procNsPath(type, holder.pid) : thread.nsPath(type);
          pinNamespace(source, target, `pin ${type} namespace of ${name} at ${target}`);
          made.push(target);
        }
      } finally {
        await thread.release();
      }
    }
    meta.inodes = {};
    for (const type of wanted) meta.inodes[type] = pinnedInode(join(dir, type));
    writeMetadata(dir, meta);
    const info = inspectNamespaces(name);
    if (info === undefined || !info.intact) {
      throw new HostformError(`namespace set ${name} is not intact right after creation: ${info?.problems.join("; ") ?? "directory gone"}`);
    }
    return info;
  } catch (err) {
    throw await afterUndo(err, `undo of namespace set ${name}`, () => undoCreate(dir, made, holder));
  }
}

async function undoCreate(dir: string, pins: readonly string[], holder: HolderIdentity | undefined): Promise<void> {
  for (const target of pins) unpinNamespace(target, `undo pin ${target}`);
  if (holder !== undefined) await killHolder(holder);
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Reads the live state of the set `name`, or undefined when it does not exist. Never changes
 * anything; `intact` and `problems` say whether the set is usable.
 */
export function inspectNamespaces(name: string): NamespaceSetInfo | undefined {
  validateSetName(name);
  const dir = join(nsDir(), name);
  if (!existsSync(dir)) return undefined;
  const meta = readMetadata(dir);
  const problems: string[] = [];
  let types: NamespaceType[];
  if (meta !== undefined) {
    types = meta.types;
  } else {
    problems.push("metadata missing or unreadable (creation interrupted?)");
    types = NAMESPACE_TYPES.filter((t) => existsSync(join(dir, t)));
  }
  const paths: Partial<Record<NamespaceType, string>> = {};
  const inodes: Partial<Record<NamespaceType, number>> = {};
  for (const type of types) {
    const path = join(dir, type);
    paths[type] = path;
    const ino = pinnedInode(path);
    if (ino === undefined) {
      problems.push(`${type} namespace is not pinned at ${path}`);
      continue;
    }
    inodes[type] = ino;
    const recorded = meta?.inodes?.[type];
    if (recorded !== undefined && recorded !== ino) problems.push(`${type} pin now holds inode ${ino}, created with ${recorded}`);
  }
  const info: NamespaceSetInfo = { name, dir, types, paths, inodes, intact: false, problems };
  if (meta !== undefined) info.createdAt = meta.createdAt;
  if (meta?.owner !== undefined) info.owner = meta.owner;
  if (meta?.idMappings !== undefined) info.idMappings = meta.idMappings;
  if (meta?.holder !== undefined) {
    const alive = isHolderAlive(meta.holder);
    info.holder = { ...meta.holder, alive };
    if (!alive) problems.push(`holder process ${meta.holder.pid} is gone`);
    else if (meta.idMappings !== undefined) problems.push(...mappingProblems(meta.holder.pid, meta.idMappings, inodes.user));
    else if (inodes.pid !== undefined && nsInode(procNsPath("pid", meta.holder.pid)) !== inodes.pid) {
      problems.push(`holder process ${meta.holder.pid} is not in the pinned PID namespace`);
    }
  } else if (types.includes("pid")) {
    problems.push("no holder recorded for the PID namespace");
  }
  info.intact = problems.length === 0;
  return info;
}

/** Records `owner` as the owner of the existing set `name` (an import takes the set over). */
export function setNamespaceOwner(name: string, owner: Owner): void {
  validateSetName(name);
  const dir = join(nsDir(), name);
  const meta = readMetadata(dir);
  if (meta === undefined) throw new NotFoundError("namespace set", name, "no readable metadata; it cannot be taken over");
  writeMetadata(dir, { ...meta, owner });
}

/**
 * Deletes the set `name`: unmounts every pin (MNT_DETACH: processes still inside keep their
 * namespaces, the set's reference goes now), kills the holder after checking its identity,
 * removes the files and the directory. Deleting a set that does not exist succeeds.
 */
export async function deleteNamespaces(name: string): Promise<void> {
  validateSetName(name);
  const dir = join(nsDir(), name);
  if (!existsSync(dir)) return;
  const meta = readMetadata(dir);
  const errors: unknown[] = [];
  // All types, not only the recorded ones: an interrupted create may have pinned without metadata.
  for (const type of NAMESPACE_TYPES) {
    const target = join(dir, type);
    try {
      unpinNamespace(target, `unpin ${type} namespace of ${name} at ${target}`);
    } catch (err) {
      errors.push(err);
    }
  }
  if (meta?.holder !== undefined) {
    try {
      await killHolder(meta.holder);
    } catch (err) {
      errors.push(withContext(err, `end namespace holder ${meta.holder.pid} of ${name}`));
    }
  }
  if (errors.length > 0) throw errors[0];
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    throw withContext(err, `remove namespace set directory ${dir}`);
  }
}

/** Every namespace set under the ns dir, by name, with its live state. */
export function listNamespaces(): NamespaceSetInfo[] {
  let names: string[];
  try {
    names = readdirSync(nsDir(), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch (err) {
    if (hasCode(err, "ENOENT")) return [];
    throw SysError.fromNode(err, `list namespace sets in ${nsDir()}`);
  }
  const sets: NamespaceSetInfo[] = [];
  for (const name of names) {
    if (!isValidSetName(name)) continue;
    const info = inspectNamespaces(name);
    if (info !== undefined) sets.push(info);
  }
  return sets;
}

/**
 * Where the set's user namespace differs from what it was made with: the holder (who lives in it)
 * no longer in the pinned one, or its live uid_map and gid_map not the recorded mappings.
 */
function mappingProblems(holderPid: number, mappings: SetIdMappings, pinnedInode: number | undefined): string[] {
  try {
    if (pinnedInode !== undefined && nsInode(procNsPath("user", holderPid)) !== pinnedInode) return [`holder process ${holderPid} is not in the pinned user namespace`];
    const out: string[] = [];
    for (const [file, want] of [["uid_map", mappings.uid], ["gid_map", mappings.gid]] as const) {
      const live = parseIdMap(readFileSync(`/proc/${holderPid}/${file}`, "utf8"));
      if (idMapText(live) !== idMapText(want)) out.push(`user namespace ${file} is "${idMapText(live).trim()}", made with "${idMapText(want).trim()}"`);
    }
    return out;
  } catch (err) {
    if (hasCode(err, "ENOENT") || hasCode(err, "ESRCH")) return [`holder process ${holderPid} is gone`];
    throw SysError.fromNode(err, `read the user namespace of holder ${holderPid}`);
  }
}

/** Brings lo up in the network namespace pinned at path (a set made by nsspawn, not the unshare worker). */
function loopbackUpIn(pin: string): void {
  const r = spawnSync("nsenter", [`--net=${pin}`, "ip", "link", "set", "lo", "up"], { encoding: "utf8" });
  if (r.status !== 0) throw new HostformError(`bring lo up in ${pin}: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`);
}

function sameTypes(a: readonly NamespaceType[], b: readonly NamespaceType[]): boolean {
  return a.length === b.length && a.every((t) => b.includes(t));
}

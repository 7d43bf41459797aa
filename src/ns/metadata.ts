// A small JSON file next to the pins records what the directory alone cannot tell: the types
// asked for, and the holder's identity (its pid alone could be a recycled one).
import { readFileSync } from "node:fs";
import { atomicWrite } from "../sys/atomicFile";
import { join } from "node:path";
import { hasCode, SysError } from "../sys/errors";
import { asOwner, type Owner } from "../sys/owner";
import { isNamespaceType, type NamespaceType } from "./types";
import type { HolderIdentity } from "./holder";
import type { IdMapping } from "./idMapping";

/** Name of the metadata file inside a set's directory; it cannot clash with a type name. */
export const METADATA_FILE = "hostform-ns.json";

/** What a namespace set's metadata file holds. */
export interface NamespaceSetMetadata {
  version: 1;
  name: string;
  types: NamespaceType[];
  holder?: HolderIdentity;
  /** ISO 8601 time the set was created. */
  createdAt: string;
  /** nsfs inode of each pin, recorded once every pin is made (absent while creating). */
  inodes?: Partial<Record<NamespaceType, number>>;
  /** The stack and resource that own the set (absent on sets made before owners were recorded). */
  owner?: Owner;
  /** With a user namespace: the mappings it was made with. */
  idMappings?: { uid: IdMapping[]; gid: IdMapping[] };
}

/** Writes the metadata atomically: a reader (or a crash) sees the old or the new content, never a torn one. */
export function writeMetadata(dir: string, meta: NamespaceSetMetadata): void {
  atomicWrite(join(dir, METADATA_FILE), `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o644 });
}

/** Reads the metadata; undefined when the file is missing or does not hold valid metadata. */
export function readMetadata(dir: string): NamespaceSetMetadata | undefined {
  const path = join(dir, METADATA_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    if (hasCode(err, "ENOENT") || err instanceof SyntaxError) return undefined;
    throw SysError.fromNode(err, `read namespace set metadata ${path}`);
  }
  return isMetadata(raw) ? raw : undefined;
}

function isMetadata(v: unknown): v is NamespaceSetMetadata {
  if (typeof v !== "object" || v === null) return false;
  const m = v as Record<string, unknown>;
  if (m.version !== 1 || typeof m.name !== "string" || typeof m.createdAt !== "string") return false;
  if (!Array.isArray(m.types) || !m.types.every(isNamespaceType)) return false;
  if (m.holder !== undefined) {
    const h = m.holder as Record<string, unknown>;
    if (typeof h !== "object" || h === null || !Number.isInteger(h.pid) || !Number.isInteger(h.startTime)) return false;
  }
  return m.owner === undefined || asOwner(m.owner) !== undefined;
}

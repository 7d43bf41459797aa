// hostform's records of the images in its store, beside the OCI layout that holds their blobs: one
// record per platform manifest (<store>/images/<manifest hex>.json) saying which blobs and layers it
// uses, which refs resolved to it, and which owners (Image resources) use it; and the layout's
// index.json, one entry per ref, so `skopeo inspect oci:<store>:<name>` and umoci read the store as
// it is. Callers hold the store lock (withStoreLock) around every change.
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { atomicWriteAsync } from "../sys/atomicFile";
import { CorruptFileError, hasCode } from "../sys/errors";
import { fileDigest, isSha256Digest } from "./digest";
import { blobPath, digestHex, tmpDir } from "./layout";
import type { ImageConfig } from "./manifest";
import type { Platform } from "./platform";
import type { Transport } from "./ref";

/** Who uses an image: opaque to the store (the Image resource's id). */
export type OwnerId = string;

export interface LayerRecord {
  /** The blob as stored (usually gzip). */
  digest: string;
  mediaType: string;
  size: number;
  /** The sha256 of the uncompressed tar: the unpacked layer's key (layerDir). */
  diffId: string;
}

/** A ref that resolved to this image, and what it resolved to then (an index or this manifest). */
export interface ImageSource {
  ref: string;
  transport: Transport;
  digest: string;
  /** ISO time of the pull: when several records hold one ref (a moved tag), the newest is current. */
  pulledAt: string;
}

export interface StoredImage {
  manifestDigest: string;
  manifestSize: number;
  mediaType: string;
  configDigest: string;
  configSize: number;
  platform: Platform;
  config: ImageConfig;
  layers: LayerRecord[];
  /** Bytes of all its blobs (manifest, config, layers) in the store. */
  size: number;
  sources: ImageSource[];
  owners: OwnerId[];
}

export const ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name";
export const ANNOTATION_HOSTFORM_REF = "io.hostform.image.ref";

export function imagesDir(store: string): string {
  return join(store, "images");
}

export function recordPath(store: string, manifestDigest: string): string {
  return join(imagesDir(store), `${digestHex(manifestDigest)}.json`);
}

/** Creates the layout's skeleton (what skopeo and umoci need to read it) when it is missing. */
export async function ensureStore(store: string): Promise<void> {
  for (const d of [join(store, "blobs", "sha256"), imagesDir(store), tmpDir(store)]) mkdirSync(d, { recursive: true, mode: 0o700 });
  if (!exists(join(store, "oci-layout"))) await atomicWriteAsync(join(store, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }), { mode: 0o644 });
  if (!exists(join(store, "index.json"))) await writeIndex(store, []);
}

/** Whether path exists (ENOENT: no; any other error is thrown). */
export function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (err) {
    if (hasCode(err, "ENOENT")) return false;
    throw err;
  }
}

/** Every blob an image keeps in the store. */
export function imageBlobs(img: StoredImage): Array<{ digest: string; size: number; role: string }> {
  return [
    { digest: img.manifestDigest, size: img.manifestSize, role: "manifest" },
    { digest: img.configDigest, size: img.configSize, role: "config" },
    ...img.layers.map((l, i) => ({ digest: l.digest, size: l.size, role: `layer ${i}` })),
  ];
}

function parseRecord(path: string, text: string): StoredImage {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new CorruptFileError(path, "is not JSON", { cause: err });
  }
  const r = v as Partial<StoredImage>;
  if (!isSha256Digest(r.manifestDigest) || !isSha256Digest(r.configDigest) || !Array.isArray(r.layers) || !Array.isArray(r.owners) || !Array.isArray(r.sources)) {
    throw new CorruptFileError(path, "is not an image record (manifestDigest, configDigest, layers, sources, owners)");
  }
  return r as StoredImage;
}

export function readRecord(store: string, manifestDigest: string): StoredImage | undefined {
  const path = recordPath(store, manifestDigest);
  try {
    return parseRecord(path, readFileSync(path, "utf8"));
  } catch (err) {
    if (hasCode(err, "ENOENT")) return undefined;
    throw err;
  }
}

/** Every record in the store (none when the store does not exist yet). */
export function listRecords(store: string): StoredImage[] {
  let names: string[];
  try {
    names = readdirSync(imagesDir(store));
  } catch (err) {
    if (hasCode(err, "ENOENT")) return [];
    throw err;
  }
  return names
    .filter((n) => /^[0-9a-f]{64}\.json$/.test(n))
    .sort()
    .map((n) => parseRecord(join(imagesDir(store), n), readFileSync(join(imagesDir(store), n), "utf8")));
}

export async function writeRecord(store: string, img: StoredImage): Promise<void> {
  await atomicWriteAsync(recordPath(store, img.manifestDigest), `${JSON.stringify(img, null, 2)}\n`, { mode: 0o644 });
}

/** The newest record a ref resolved to for this platform, if any. */
export function findBySource(records: readonly StoredImage[], ref: string, matches: (img: StoredImage) => boolean): { img: StoredImage; source: ImageSource } | undefined {
  let best: { img: StoredImage; source: ImageSource } | undefined;
  for (const img of records) {
    if (!matches(img)) continue;
    for (const s of img.sources) if (s.ref === ref && (best === undefined || s.pulledAt > best.source.pulledAt)) best = { img, source: s };
  }
  return best;
}

/** Whether every blob of the image is in the store with its recorded size (cheap: no hashing). */
export function blobsPresent(store: string, img: StoredImage): boolean {
  return imageBlobs(img).every((b) => {
    try {
      return statSync(blobPath(store, b.digest)).size === b.size;
    } catch (err) {
      if (hasCode(err, "ENOENT")) return false;
      throw err;
    }
  });
}

export interface BlobProblem {
  digest: string;
  role: string;
  problem: "missing" | "corrupt";
  detail?: string;
}

/** Hashes every blob of the image: the ones missing or not matching their digest (drift). */
export async function verifyImage(store: string, img: StoredImage): Promise<BlobProblem[]> {
  const bad: BlobProblem[] = [];
  for (const b of imageBlobs(img)) {
    try {
      const got = await fileDigest(blobPath(store, b.digest));
      if (got.digest !== b.digest || got.size !== b.size) bad.push({ digest: b.digest, role: b.role, problem: "corrupt", detail: `has ${got.digest}, ${got.size} bytes; expected ${b.size} bytes` });
    } catch (err) {
      if (!hasCode(err, "ENOENT")) throw err;
      bad.push({ digest: b.digest, role: b.role, problem: "missing" });
    }
  }
  return bad;
}

// ---- index.json ----

export interface IndexEntry {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  [key: string]: unknown;
}

const indexPath = (store: string): string => join(store, "index.json");

export function readIndex(store: string): IndexEntry[] {
  const path = indexPath(store);
  let doc: { manifests?: unknown };
  try {
    doc = JSON.parse(readFileSync(path, "utf8")) as { manifests?: unknown };
  } catch (err) {
    if (hasCode(err, "ENOENT")) return [];
    throw new CorruptFileError(path, "is not JSON", { cause: err });
  }
  if (!Array.isArray(doc.manifests)) throw new CorruptFileError(path, "has no manifests list");
  return doc.manifests as IndexEntry[];
}

export async function writeIndex(store: string, entries: IndexEntry[]): Promise<void> {
  const doc = { schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: entries };
  await atomicWriteAsync(indexPath(store), `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o644 });
}

/**
 * The name of a ref inside the layout (its ref.name annotation). (skopeo 1.9's oci transport finds
 * only OCI manifests by name; a Docker v2s2 one is listed too, for umoci and for hostform.) skopeo's oci transport accepts a
 * registry ref as it is, but not "transport:/path", so those become "transport/path[:tag]".
 */
export function layoutName(ref: string, transport: Transport): string {
  if (transport === "docker") return ref;
  return `${transport}${ref.slice(transport.length + 1)}`;
}

/** index.json with the entry for (ref → img) put in place of any older entry of that name. */
export function withIndexEntry(entries: readonly IndexEntry[], img: StoredImage, source: ImageSource): IndexEntry[] {
  const name = layoutName(source.ref, source.transport);
  const kept = entries.filter((e) => e.annotations?.[ANNOTATION_REF_NAME] !== name);
  kept.push({
    mediaType: img.mediaType,
    digest: img.manifestDigest,
    size: img.manifestSize,
    platform: img.platform,
    annotations: { [ANNOTATION_REF_NAME]: name, [ANNOTATION_HOSTFORM_REF]: source.ref },
  });
  return kept;
}

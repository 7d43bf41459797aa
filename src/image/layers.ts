// The unpacked-layer cache: one directory per diff_id, shared by every image that has the layer.
// A layer dir is built in a staging dir on the store's filesystem and renamed into place with its
// marker (layer.json) already written, so a layer dir with a valid marker is always whole. The
// caller holds the store lock (withStoreLock): flock is not re-entrant, so nothing here takes it.
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterUndo, withContext } from "../sys/errors";
import { applyLayer, type LayerStats } from "./applyLayer";
import { digestHex, layerDiffDir, layerDir, layerMarkerPath, tmpDir } from "./layout";

export interface LayerBlob {
  /** The layer's diff_id from the image config: sha256 of the uncompressed tar. */
  diffId: string;
  blobPath: string;
  mediaType: string;
  /** The blob's own (compressed) digest, recorded in the marker when known. */
  blobDigest?: string;
}

/** layer.json: what was unpacked, from what, and when. */
export interface LayerMarker extends LayerStats {
  mediaType: string;
  blobDigest?: string;
  unpackedAt: string;
}

/** The layer's marker, or undefined when it is missing or not a marker for this diff_id. */
export function readLayerMarker(store: string, diffId: string): LayerMarker | undefined {
  let text: string;
  try {
    text = readFileSync(layerMarkerPath(store, diffId), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ENOTDIR") return undefined;
    throw withContext(err, `read the marker of layer ${diffId}`);
  }
  try {
    const m = JSON.parse(text) as Partial<LayerMarker>;
    return m.diffId === diffId ? (m as LayerMarker) : undefined;
  } catch {
    // A marker that does not parse means the dir is not known to be whole: it is redone, which is the point.
    return undefined;
  }
}

/** True when the layer dir has its marker for this diff_id and its tree. */
export function layerIntact(store: string, diffId: string): boolean {
  if (readLayerMarker(store, diffId) === undefined) return false;
  try {
    return statSync(layerDiffDir(store, diffId)).isDirectory();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw withContext(err, `check layer ${diffId}`);
  }
}

export function removeLayer(store: string, diffId: string): void {
  rmSync(layerDir(store, diffId), { recursive: true, force: true });
}

/**
 * The layer's diff dir (an overlay lowerdir), unpacking the blob first unless an intact copy is
 * there. `lowerDirs` are the diff dirs of the layers below it, topmost first.
 */
export async function unpackLayer(store: string, layer: LayerBlob, lowerDirs: readonly string[] = []): Promise<string> {
  const diffDir = layerDiffDir(store, layer.diffId);
  if (layerIntact(store, layer.diffId)) return diffDir;
  digestHex(layer.diffId);
  mkdirSync(tmpDir(store), { recursive: true, mode: 0o700 });
  mkdirSync(join(store, "layers"), { recursive: true, mode: 0o755 });
  const staging = join(tmpDir(store), `unpack-${randomBytes(6).toString("hex")}`);
  mkdirSync(staging, 0o755);
  try {
    const stats = await applyLayer({ path: layer.blobPath, mediaType: layer.mediaType }, join(staging, "diff"), layer.diffId, { lowerDirs });
    const marker: LayerMarker = { ...stats, mediaType: layer.mediaType, unpackedAt: new Date().toISOString() };
    if (layer.blobDigest !== undefined) marker.blobDigest = layer.blobDigest;
    writeFileSync(join(staging, "layer.json"), `${JSON.stringify(marker, null, 2)}\n`, { mode: 0o644 });
    // A dir without a valid marker is a leftover of a crash (or was edited): it is replaced, not trusted.
    removeLayer(store, layer.diffId);
    renameSync(staging, layerDir(store, layer.diffId));
    return diffDir;
  } catch (err) {
    const failure = withContext(err, `unpack layer ${layer.diffId}`);
    throw await afterUndo(failure, `remove ${staging}`, () => rmSync(staging, { recursive: true, force: true }));
  }
}

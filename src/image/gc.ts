// Garbage: when the last owner of an image lets it go, the image's record, its index.json entries,
// and the blobs and unpacked layers no remaining image uses are removed. Only what the records name
// is ever removed: the store is never swept, so a file hostform did not create stays.
import { rmSync } from "node:fs";
import { blobPath, layerDir, withStoreLock } from "./layout";
import { NotFoundError } from "../sys/errors";
import { imageBlobs, listRecords, type OwnerId, readIndex, readRecord, recordPath, type StoredImage, writeIndex, writeRecord } from "./store";

export interface ReleaseResult {
  /** Manifest digests of the images removed. */
  removedImages: string[];
  removedBlobs: string[];
  /** diff_ids whose layer dirs were removed (when present). */
  removedLayers: string[];
}

export interface ReleaseOptions {
  /**
   * Manifest digests the owner still uses: an Image whose tag moved keeps its new image and lets
   * the old one go (pull the new one first, then release with keep: [its manifestDigest]).
   */
  keep?: readonly string[];
}

/** Removes owner from every image (but those in keep); an image left with no owner goes, with what only it used. */
export async function releaseImage(store: string, owner: OwnerId, options: ReleaseOptions = {}): Promise<ReleaseResult> {
  const keep = new Set(options.keep ?? []);
  return withStoreLock(store, `release images of ${owner}`, async () => {
    const kept: StoredImage[] = [];
    const dropped: StoredImage[] = [];
    const changed: StoredImage[] = [];
    for (const img of listRecords(store)) {
      if (!img.owners.includes(owner) || keep.has(img.manifestDigest)) {
        kept.push(img);
        continue;
      }
      const next = { ...img, owners: img.owners.filter((o) => o !== owner) };
      (next.owners.length === 0 ? dropped : kept).push(next);
      if (next.owners.length > 0) changed.push(next);
    }
    for (const img of changed) await writeRecord(store, img);
    if (dropped.length === 0) return { removedImages: [], removedBlobs: [], removedLayers: [] };

    const goneManifests = new Set(dropped.map((i) => i.manifestDigest));
    // index.json first: a crash after it leaves unreferenced files (harmless), never an entry naming a missing blob.
    const index = readIndex(store);
    const nextIndex = index.filter((e) => !goneManifests.has(e.digest));
    if (nextIndex.length !== index.length) await writeIndex(store, nextIndex);

    const usedBlobs = new Set(kept.flatMap((i) => imageBlobs(i).map((b) => b.digest)));
    // An index.json entry of something hostform did not record (added by hand, by umoci) still holds its manifest.
    for (const e of nextIndex) usedBlobs.add(e.digest);
    const usedLayers = new Set(kept.flatMap((i) => i.layers.map((l) => l.diffId)));
    const removedBlobs = [...new Set(dropped.flatMap((i) => imageBlobs(i).map((b) => b.digest)))].filter((d) => !usedBlobs.has(d));
    const removedLayers = [...new Set(dropped.flatMap((i) => i.layers.map((l) => l.diffId)))].filter((d) => !usedLayers.has(d));
    for (const img of dropped) rmSync(recordPath(store, img.manifestDigest), { force: true });
    for (const d of removedBlobs) rmSync(blobPath(store, d), { force: true });
    for (const d of removedLayers) rmSync(layerDir(store, d), { recursive: true, force: true });
    return { removedImages: [...goneManifests], removedBlobs, removedLayers };
  });
}

/**
 * Adds owner to an image in the store: a container running on its layers holds them until it goes
 * (what a lease does in containerd), so an Image that moves to another digest meanwhile cannot
 * remove them from under it. Released with releaseImage(store, owner).
 */
export async function holdImage(store: string, manifestDigest: string, owner: OwnerId): Promise<void> {
  await withStoreLock(store, `hold image ${manifestDigest} for ${owner}`, async () => {
    const img = readRecord(store, manifestDigest);
    if (img === undefined) throw new NotFoundError("image", manifestDigest, "it is not in the store: run `hostform up` to pull it again");
    if (!img.owners.includes(owner)) await writeRecord(store, { ...img, owners: [...img.owners, owner] });
  });
}

// Where the image store keeps what: an OCI image layout (oci-layout, index.json, blobs/sha256/<hex>)
// that skopeo and umoci read as it is, plus hostform's own parts beside it: one directory per
// unpacked layer keyed by its diff_id (the sha256 of the uncompressed tar, so a layer that came
// gzipped from a registry and raw from a docker-archive is unpacked once), one record per image, and
// per-operation staging dirs that are renamed into place only when complete.
import { join } from "node:path";
import { libDir } from "../sys/paths";
import { withFileLock } from "../sys/fileLock";

/** The store's root: <lib dir>/images. */
export function storeDir(): string {
  return join(libDir(), "images");
}

/** "sha256:<hex>" → "<hex>"; the store only holds sha256 content (what OCI requires implementations to support). */
export function digestHex(digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (m === null) throw new Error(`not a sha256 digest: ${digest}`);
  return m[1] as string;
}

export function blobPath(store: string, digest: string): string {
  return join(store, "blobs", "sha256", digestHex(digest));
}

/** One unpacked layer: <store>/layers/<diff_id hex>. */
export function layerDir(store: string, diffId: string): string {
  return join(store, "layers", digestHex(diffId));
}

/** The overlay lowerdir of a layer: its tree, with whiteouts in overlay format. */
export function layerDiffDir(store: string, diffId: string): string {
  return join(layerDir(store, diffId), "diff");
}

/** Written last into a layer dir (before the rename into place): its presence means the tree is whole. */
export function layerMarkerPath(store: string, diffId: string): string {
  return join(layerDir(store, diffId), "layer.json");
}

/** Staging: one fresh dir per operation, on the store's filesystem so that rename commits. */
export function tmpDir(store: string): string {
  return join(store, "tmp");
}

export function lockPath(store: string): string {
  return join(store, "lock");
}

/** How long a store operation waits for another hostform process's (a pull or unpack can take minutes). */
export const STORE_LOCK_TIMEOUT_MS = 10 * 60_000;

/** Runs fn holding the store's lock: pulls, unpacks and garbage collection never interleave. */
export function withStoreLock<T>(store: string, what: string, fn: () => Promise<T>): Promise<T> {
  return withFileLock(lockPath(store), what, STORE_LOCK_TIMEOUT_MS, fn);
}

// From a ref to a verified image in the store. skopeo does the transport work; hostform checks
// what it wrote (every blob against its digest, the platform of a single-manifest image, which skopeo
// does not check) before anything enters the store. The copy goes into a staging layout under tmp/,
// and blobs are committed by rename only after all checks pass, so a failed pull leaves the store
// exactly as it was (skopeo itself leaves verified blobs behind when a copy fails half-way).
import { linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterUndo, CorruptFileError, hasCode, ValidationError } from "../sys/errors";
import { fileDigest, sha256Digest } from "./digest";
import { blobPath, digestHex, storeDir, tmpDir, withStoreLock } from "./layout";
import { chooseFromIndex, type ImageConfig, type ImageManifest, indexPlatforms, parseImageConfig, parseManifestOrIndex } from "./manifest";
import { formatPlatform, hostPlatform, parsePlatform, type Platform, platformMatches } from "./platform";
import { type ImageRef, parseRef, pinnedSkopeoRef, type Transport } from "./ref";
import { copyToLayout, inspectRaw, type SkopeoOptions } from "./skopeo";
import { blobsPresent, ensureStore, exists, findBySource, type ImageSource, imageBlobs, type LayerRecord, listRecords, type OwnerId, readIndex, readRecord, recordPath, type StoredImage, withIndexEntry, writeIndex, writeRecord } from "./store";
import { type ImageInput, validateImageInput } from "./imageInput";

export { validateImageInput, type ImageInput };
export type { PullPolicy } from "./imageInput";

/** An image in the store as the ref of one pull sees it: the Image resource's outputs. */
export interface ImageRecord {
  /** The normalised ref ("docker.io/library/nginx:1.27"). */
  ref: string;
  transport: Transport;
  /** What the ref resolved to: an index's digest for a multi-platform tag, else the manifest's. */
  digest: string;
  /** The platform manifest that runs. */
  manifestDigest: string;
  configDigest: string;
  mediaType: string;
  platform: Platform;
  config: ImageConfig;
  layers: LayerRecord[];
  size: number;
  owners: OwnerId[];
}

export interface StoreOptions {
  /** Default: storeDir() (HOSTFORM_LIB_DIR/images). */
  store?: string;
  /** Bounds each skopeo call; default 60 s for a resolve, 30 min for a copy. */
  timeoutMs?: number;
}

export interface PullOptions extends StoreOptions {
  owner: OwnerId;
}

export interface ResolvedRef {
  ref: string;
  transport: Transport;
  digest: string;
  /** Whether the digest is an index's (then the platform's manifest is chosen from it). */
  kind: "index" | "manifest";
}

interface Prepared {
  input: ImageInput;
  ref: ImageRef;
  platform: Platform;
  store: string;
}

function prepare(raw: ImageInput, options: StoreOptions): Prepared {
  const input = validateImageInput(raw);
  const platform = input.platform !== undefined ? parsePlatform(input.platform) : hostPlatform();
  return { input, ref: parseRef(input.ref), platform, store: options.store ?? storeDir() };
}

function skopeoOptions(p: Prepared, timeoutMs: number): SkopeoOptions {
  const o: SkopeoOptions = { store: p.store, ref: p.ref, platform: p.platform, tlsVerify: p.input.tlsVerify ?? true, timeoutMs };
  if (p.input.auth !== undefined) o.auth = p.input.auth;
  return o;
}

function view(img: StoredImage, source: ImageSource): ImageRecord {
  return {
    ref: source.ref,
    transport: source.transport,
    digest: source.digest,
    manifestDigest: img.manifestDigest,
    configDigest: img.configDigest,
    mediaType: img.mediaType,
    platform: img.platform,
    config: img.config,
    layers: img.layers,
    size: img.size,
    owners: img.owners,
  };
}

async function resolvePrepared(p: Prepared, timeoutMs: number): Promise<{ resolved: ResolvedRef; raw: Buffer }> {
  const raw = await inspectRaw(skopeoOptions(p, timeoutMs));
  const doc = parseManifestOrIndex(raw, `the manifest of ${p.ref.name}`);
  return { resolved: { ref: p.ref.name, transport: p.ref.transport, digest: sha256Digest(raw), kind: doc.kind }, raw };
}

/**
 * The digest the ref resolves to now (one `skopeo inspect --raw` and a sha256 in Node): for
 * refresh and drift, to report a tag that moved. The store is not changed.
 */
export async function resolveImage(raw: ImageInput, options: StoreOptions = {}): Promise<ResolvedRef> {
  const p = prepare(raw, options);
  mkdirSync(tmpDir(p.store), { recursive: true, mode: 0o700 });
  return (await resolvePrepared(p, options.timeoutMs ?? 60_000)).resolved;
}

/**
 * A stored image as the Image resource of `ref` sees it (for read/refresh), or undefined when the
 * store has no record of that manifest. Without ref (or when ref never resolved to it), the newest
 * ref that did is reported.
 */
export function readImage(manifestDigest: string, options: StoreOptions & { ref?: string } = {}): ImageRecord | undefined {
  const img = readRecord(options.store ?? storeDir(), manifestDigest);
  if (img === undefined) return undefined;
  const sources = [...img.sources].sort((a, b) => (a.pulledAt < b.pulledAt ? 1 : -1));
  const wanted = options.ref !== undefined ? parseRef(options.ref).name : undefined;
  const source = sources.find((s) => s.ref === wanted) ?? sources[0];
  if (source === undefined) throw new CorruptFileError(recordPath(options.store ?? storeDir(), manifestDigest), "lists no ref that resolved to it");
  return view(img, source);
}

/**
 * Records the owner (and the source) on a stored image: its record, then its index.json entry. The
 * store lock is held. When the index cannot be written, the record is put back as it was.
 */
async function adopt(p: Prepared, img: StoredImage, source: ImageSource, owner: OwnerId): Promise<ImageRecord> {
  const next: StoredImage = {
    ...img,
    sources: [...img.sources.filter((s) => s.ref !== source.ref || s.digest !== source.digest), source],
    owners: img.owners.includes(owner) ? img.owners : [...img.owners, owner],
  };
  const index = readIndex(p.store);
  const before = readRecord(p.store, img.manifestDigest);
  await writeRecord(p.store, next);
  try {
    await writeIndex(p.store, withIndexEntry(index, next, source));
  } catch (err) {
    throw await afterUndo(err, "restoring the image record", () => (before !== undefined ? writeRecord(p.store, before) : rmSync(recordPath(p.store, img.manifestDigest), { force: true })));
  }
  return view(next, source);
}

/**
 * Makes the ref's image (for the input's platform) present and verified in the store, records the
 * owner on it, and returns it. Holds the store lock throughout. On failure the store is as before
 * and tmp/ holds nothing of this pull.
 */
export async function pullImage(raw: ImageInput, options: PullOptions): Promise<ImageRecord> {
  const p = prepare(raw, options);
  if (typeof options.owner !== "string" || options.owner === "") throw new ValidationError("owner", "must be a non-empty string");
  const wanted = (img: StoredImage): boolean => platformMatches(p.platform, img.platform);
  return withStoreLock(p.store, `pull ${p.ref.name}`, async () => {
    await ensureStore(p.store);
    const now = new Date().toISOString();
    if ((p.input.pullPolicy ?? "missing") === "missing") {
      const hit = findBySource(listRecords(p.store), p.ref.name, wanted);
      if (hit !== undefined && blobsPresent(p.store, hit.img)) return adopt(p, hit.img, { ...hit.source, pulledAt: now }, options.owner);
    }
    const { resolved, raw: rawBytes } = await resolvePrepared(p, options.timeoutMs ?? 60_000);
    const source: ImageSource = { ref: p.ref.name, transport: p.ref.transport, digest: resolved.digest, pulledAt: now };
    // The manifest that will run, known before any copy when the ref names it or an index lists it.
    let manifestDigest: string | undefined = resolved.kind === "manifest" ? resolved.digest : undefined;
    const doc = parseManifestOrIndex(rawBytes, `the manifest of ${p.ref.name}`);
    if (doc.kind === "index") {
      const chosen = chooseFromIndex(doc, p.platform);
      if (chosen === undefined) {
        throw new ValidationError("platform", `${p.ref.name} has no image for ${formatPlatform(p.platform)} (it has ${indexPlatforms(doc).join(", ") || "no platforms listed"})`, "set platform to one the image offers");
      }
      manifestDigest = chosen.digest;
    }
    if (manifestDigest !== undefined) {
      const have = readRecord(p.store, manifestDigest);
      if (have !== undefined && wanted(have) && blobsPresent(p.store, have)) return adopt(p, have, source, options.owner);
    }
    const { img, added } = await copyVerified(p, resolved, options.timeoutMs ?? 30 * 60_000);
    // A record of this manifest may exist with blobs missing (drift): it keeps its sources and owners.
    const base = readRecord(p.store, img.manifestDigest) ?? img;
    const pinned = p.ref.transport === "docker-archive" && resolved.kind === "manifest" ? img.manifestDigest : source.digest;
    try {
      return await adopt(p, base, { ...source, digest: pinned }, options.owner);
    } catch (err) {
      throw await afterUndo(err, "removing the blobs this pull added", () => removeFiles(added));
    }
  });
}

/**
 * Copies into a staging layout, verifies it, and moves its blobs into the store (returning the ones
 * it added, for an undo); removes the staging dir whatever happens.
 */
async function copyVerified(p: Prepared, resolved: ResolvedRef, timeoutMs: number): Promise<{ img: StoredImage; added: string[] }> {
  const staging = mkdtempSync(join(tmpDir(p.store), "pull-"));
  try {
    const layout = join(staging, "oci");
    prelinkBlobs(p.store, layout);
    const digestFile = join(staging, "digest");
    await copyToLayout(skopeoOptions(p, timeoutMs), pinnedSkopeoRef(p.ref, resolved.digest), layout, "image", digestFile);
    const img = await verifyStaged(p, layout, readFileSync(digestFile, "utf8").trim());
    // skopeo generates a docker-archive's manifest, so only there may the copy's differ from what inspect showed.
    if (resolved.kind === "manifest" && img.manifestDigest !== resolved.digest && p.ref.transport !== "docker-archive") {
      throw new ValidationError("ref", `${p.ref.name} changed while it was read (resolved to ${resolved.digest}, copied ${img.manifestDigest})`, "pull again");
    }
    return { img, added: await commitBlobs(p.store, layout, img) };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Hard-links the blobs the store has into the staging layout, so skopeo finds them there and does not fetch them again. */
function prelinkBlobs(store: string, layout: string): void {
  const dir = join(layout, "blobs", "sha256");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  for (const name of readdirSync(join(store, "blobs", "sha256"))) {
    if (/^[0-9a-f]{64}$/.test(name)) linkSync(join(store, "blobs", "sha256", name), join(dir, name));
  }
}

/** Reads and hashes what skopeo wrote: every blob must match its digest and size, the config the platform. */
async function verifyStaged(p: Prepared, layout: string, copiedDigest: string): Promise<StoredImage> {
  const indexFile = join(layout, "index.json");
  let entries: Array<{ digest?: unknown; annotations?: Record<string, string> }>;
  try {
    entries = (JSON.parse(readFileSync(indexFile, "utf8")) as { manifests: typeof entries }).manifests;
  } catch (err) {
    throw new CorruptFileError(indexFile, "skopeo wrote no readable index.json", { cause: err });
  }
  const entry = entries.find((e) => e.annotations?.["org.opencontainers.image.ref.name"] === "image");
  if (entry === undefined || typeof entry.digest !== "string") throw new CorruptFileError(indexFile, "has no entry for the copied image");
  const manifestDigest = entry.digest;
  if (manifestDigest !== copiedDigest) throw new CorruptFileError(indexFile, `names ${manifestDigest}, but skopeo reported ${copiedDigest}`);
  const blob = (digest: string): string => join(layout, "blobs", "sha256", digestHex(digest));
  const check = async (digest: string, size: number | undefined, what: string): Promise<number> => {
    const got = await fileDigest(blob(digest));
    if (got.digest !== digest || (size !== undefined && got.size !== size)) {
      const held = `holds ${got.digest} (${got.size} bytes${size !== undefined ? `, expected ${size}` : ""})`;
      // A blob pre-linked from the store was damaged there, not at the source.
      if (sameFile(blob(digest), blobPath(p.store, digest))) throw new CorruptFileError(blobPath(p.store, digest), `${held}, not ${digest}: the store's copy is damaged (remove the file, or release its images, and pull again)`);
      throw new ValidationError("ref", `the content of ${p.ref.name} does not match its digest: the ${what} ${digest} ${held}`, "the source is corrupt; fix or re-push it");
    }
    return got.size;
  };
  const manifestSize = await check(manifestDigest, undefined, "manifest");
  const doc = parseManifestOrIndex(readFileSync(blob(manifestDigest)), `manifest ${manifestDigest} of ${p.ref.name}`);
  if (doc.kind !== "manifest") throw new CorruptFileError(blob(manifestDigest), "skopeo copied an index, not a platform's manifest");
  const m: ImageManifest = doc;
  await check(m.config.digest, m.config.size, "config");
  const parsed = parseImageConfig(readFileSync(blob(m.config.digest)), `config ${m.config.digest} of ${p.ref.name}`);
  if (!platformMatches(p.platform, parsed.platform)) {
    throw new ValidationError("platform", `${p.ref.name} is built for ${formatPlatform(parsed.platform)}, not ${formatPlatform(p.platform)}`, "set platform to the image's, or use an image built for this host");
  }
  if (parsed.diffIds.length !== m.layers.length) throw new CorruptFileError(blob(m.config.digest), `lists ${parsed.diffIds.length} diff_ids for ${m.layers.length} layers`);
  const layers: LayerRecord[] = [];
  for (const [i, l] of m.layers.entries()) {
    await check(l.digest, l.size, `layer ${i}`);
    layers.push({ digest: l.digest, mediaType: l.mediaType, size: l.size, diffId: parsed.diffIds[i] as string });
  }
  const size = manifestSize + m.config.size + layers.reduce((n, l) => n + l.size, 0);
  return { manifestDigest, manifestSize, mediaType: m.mediaType, configDigest: m.config.digest, configSize: m.config.size, platform: parsed.platform, config: parsed.config, layers, size, sources: [], owners: [] };
}

/** Moves the image's blobs the store lacks into it; on failure removes the ones it moved. */
async function commitBlobs(store: string, layout: string, img: StoredImage): Promise<string[]> {
  const moved: string[] = [];
  try {
    for (const b of imageBlobs(img)) {
      const dest = blobPath(store, b.digest);
      if (exists(dest)) continue;
      renameSync(join(layout, "blobs", "sha256", digestHex(b.digest)), dest);
      moved.push(dest);
    }
    return moved;
  } catch (err) {
    throw await afterUndo(err, "removing the blobs this pull added", () => removeFiles(moved));
  }
}

function removeFiles(files: readonly string[]): void {
  for (const f of files) unlinkSync(f);
}

function sameFile(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.ino === y.ino && x.dev === y.dev;
  } catch (err) {
    if (hasCode(err, "ENOENT")) return false;
    throw err;
  }
}


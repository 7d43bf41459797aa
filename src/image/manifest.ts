// The JSON documents of an image (image-spec manifest, index and config, and their Docker v2
// schema 2 twins), read into the few fields hostform uses. Anything malformed is a CorruptFileError
// naming the blob, since its bytes already matched their digest: the image itself is wrong.
import { CorruptFileError } from "../sys/errors";
import { isSha256Digest } from "./digest";
import { formatPlatform, type Platform, platformMatches } from "./platform";

export const MEDIA_TYPES = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
} as const;

const MANIFEST_TYPES: readonly string[] = [MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest];
const INDEX_TYPES: readonly string[] = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList];

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
}

export interface ImageManifest {
  kind: "manifest";
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  kind: "index";
  mediaType: string;
  manifests: Descriptor[];
}

/** The part of an image's config that a container's defaults come from. */
export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workingDir?: string;
  user?: string;
  /** Sorted: "8080/tcp". */
  exposedPorts: string[];
  stopSignal?: string;
  labels: Record<string, string>;
}

export interface ParsedConfig {
  platform: Platform;
  config: ImageConfig;
  /** The sha256 of each uncompressed layer, bottom first: the key of its unpacked directory. */
  diffIds: string[];
}

type Json = Record<string, unknown>;

function parseJson(bytes: Uint8Array | string, what: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(typeof bytes === "string" ? bytes : Buffer.from(bytes).toString("utf8"));
  } catch (err) {
    throw new CorruptFileError(what, "is not JSON", { cause: err });
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new CorruptFileError(what, "is not a JSON object");
  return v as Json;
}

function descriptor(v: unknown, what: string): Descriptor {
  const d = (typeof v === "object" && v !== null ? v : {}) as Json;
  if (typeof d.mediaType !== "string" || !isSha256Digest(d.digest) || typeof d.size !== "number" || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw new CorruptFileError(what, `has a descriptor without a mediaType, a sha256 digest and a size: ${JSON.stringify(v)?.slice(0, 200)}`);
  }
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  const p = d.platform as Json | undefined;
  if (typeof p === "object" && p !== null && typeof p.os === "string" && typeof p.architecture === "string") {
    out.platform = { os: p.os, architecture: p.architecture };
    if (typeof p.variant === "string" && p.variant !== "") out.platform.variant = p.variant;
  }
  return out;
}

/**
 * A manifest or an index. The mediaType field decides; a document without one (allowed by OCI) is
 * an index when it lists manifests and a manifest when it has a config.
 */
export function parseManifestOrIndex(bytes: Uint8Array | string, what: string): ImageManifest | ImageIndex {
  const doc = parseJson(bytes, what);
  const mediaType = typeof doc.mediaType === "string" ? doc.mediaType : Array.isArray(doc.manifests) ? MEDIA_TYPES.ociIndex : MEDIA_TYPES.ociManifest;
  if (doc.schemaVersion === 1 || mediaType.startsWith("application/vnd.docker.distribution.manifest.v1")) {
    throw new CorruptFileError(what, "is a Docker schema 1 manifest, which hostform does not read (push the image again with a current docker or skopeo)");
  }
  if (INDEX_TYPES.includes(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw new CorruptFileError(what, "is an index without a manifests list");
    return { kind: "index", mediaType, manifests: doc.manifests.map((m, i) => descriptor(m, `${what} manifests[${i}]`)) };
  }
  if (MANIFEST_TYPES.includes(mediaType)) {
    if (!Array.isArray(doc.layers)) throw new CorruptFileError(what, "is a manifest without a layers list");
    return { kind: "manifest", mediaType, config: descriptor(doc.config, `${what} config`), layers: doc.layers.map((l, i) => descriptor(l, `${what} layers[${i}]`)) };
  }
  throw new CorruptFileError(what, `has media type "${mediaType}", which is not an image manifest or index`);
}

/** The index entry for `want`, or undefined when the index has none (the caller names the platforms it has). */
export function chooseFromIndex(index: ImageIndex, want: Platform): Descriptor | undefined {
  return index.manifests.find((m) => MANIFEST_TYPES.includes(m.mediaType) && m.platform !== undefined && platformMatches(want, m.platform));
}

/** The platforms an index offers, for an error message. */
export function indexPlatforms(index: ImageIndex): string[] {
  return index.manifests.flatMap((m) => (m.platform !== undefined ? [formatPlatform(m.platform)] : []));
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : [];
}

function optionalString(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** An image config → its platform, the container defaults and the diff_ids. */
export function parseImageConfig(bytes: Uint8Array | string, what: string): ParsedConfig {
  const doc = parseJson(bytes, what);
  if (typeof doc.os !== "string" || typeof doc.architecture !== "string") throw new CorruptFileError(what, "names no os and architecture");
  const platform: Platform = { os: doc.os, architecture: doc.architecture };
  if (typeof doc.variant === "string" && doc.variant !== "") platform.variant = doc.variant;
  const rootfs = (doc.rootfs ?? {}) as Json;
  const diffIds = strings(rootfs.diff_ids);
  if (rootfs.type !== "layers" || diffIds.length !== (Array.isArray(rootfs.diff_ids) ? rootfs.diff_ids.length : -1) || !diffIds.every(isSha256Digest)) {
    throw new CorruptFileError(what, 'has no rootfs of type "layers" with sha256 diff_ids');
  }
  const c = (typeof doc.config === "object" && doc.config !== null ? doc.config : {}) as Json;
  const labels: Record<string, string> = {};
  if (typeof c.Labels === "object" && c.Labels !== null) {
    for (const [k, v] of Object.entries(c.Labels as Json)) if (typeof v === "string") labels[k] = v;
  }
  const config: ImageConfig = {
    entrypoint: strings(c.Entrypoint),
    cmd: strings(c.Cmd),
    env: strings(c.Env),
    exposedPorts: typeof c.ExposedPorts === "object" && c.ExposedPorts !== null ? Object.keys(c.ExposedPorts).sort() : [],
    labels,
  };
  const workingDir = optionalString(c.WorkingDir);
  if (workingDir !== undefined) config.workingDir = workingDir;
  const user = optionalString(c.User);
  if (user !== undefined) config.user = user;
  const stopSignal = optionalString(c.StopSignal);
  if (stopSignal !== undefined) config.stopSignal = stopSignal;
  return { platform, config, diffIds };
}

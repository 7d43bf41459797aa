// One layer blob → one directory in overlayfs format, checked against the image config's diff_id
// (the sha256 of the uncompressed tar) in the same pass that unpacks it.
import { createHash } from "node:crypto";
import { closeSync, createReadStream, mkdirSync, openSync, readSync, rmSync } from "node:fs";
import type { Readable } from "node:stream";
import { createGunzip, createZstdDecompress } from "node:zlib";
import { afterUndo, CorruptFileError, ValidationError, withContext } from "../sys/errors";
import { LayerWriter } from "./layerWriter";
import { readTar } from "./tar";

export interface LayerStats {
  diffId: string;
  /** Bytes of the uncompressed tar. */
  size: number;
  /** Tar members applied (pax and long-name records not counted). */
  entries: number;
}

export interface LayerSource {
  path: string;
  mediaType: string;
}

type Compression = "none" | "gzip" | "zstd";

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** The compression a layer media type names, or undefined for a type that is not a layer. */
export function mediaTypeCompression(mediaType: string): Compression | undefined {
  const oci = /^application\/vnd\.oci\.image\.layer\.(?:nondistributable\.)?v1\.tar(?:\+(gzip|zstd))?$/.exec(mediaType);
  if (oci !== null) return (oci[1] as Compression | undefined) ?? "none";
  if (/^application\/vnd\.docker\.image\.rootfs\.(?:foreign\.)?diff\.tar\.gzip$/.test(mediaType)) return "gzip";
  if (mediaType === "application/vnd.docker.image.rootfs.diff.tar") return "none";
  return undefined;
}

function sniff(path: string): Compression {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(4);
    const n = readSync(fd, head, 0, 4, 0);
    if (n >= 2 && head.subarray(0, 2).equals(GZIP_MAGIC)) return "gzip";
    if (n >= 4 && head.equals(ZSTD_MAGIC)) return "zstd";
    return "none";
  } finally {
    closeSync(fd);
  }
}

/**
 * The media type decides; the magic bytes decide when it names no compression we know or when it
 * plainly disagrees with them (docker-archive layers are often labelled gzip but stored raw).
 */
function compressionOf(source: LayerSource): Compression {
  const declared = mediaTypeCompression(source.mediaType);
  const actual = sniff(source.path);
  if (declared === undefined || declared !== actual) return actual;
  return declared;
}

/** The uncompressed bytes of the blob, with their sha256 and count taken as they pass. */
function uncompressed(source: LayerSource): { chunks: AsyncGenerator<Buffer>; digest: () => string; size: () => number; close: () => void } {
  const file = createReadStream(source.path, { highWaterMark: 1 << 20 });
  const compression = compressionOf(source);
  const stream: Readable = compression === "gzip" ? file.pipe(createGunzip({ chunkSize: 1 << 18 })) : compression === "zstd" ? file.pipe(createZstdDecompress({ chunkSize: 1 << 18 })) : file;
  // pipe() does not forward a read error to the decompressor: without this, iteration would hang.
  if (stream !== file) file.on("error", (err) => stream.destroy(err));
  const hash = createHash("sha256");
  let size = 0;
  const chunks = (async function* () {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
      yield chunk;
    }
  })();
  return {
    chunks,
    digest: () => `sha256:${hash.digest("hex")}`,
    size: () => size,
    close: () => {
      file.destroy();
      stream.destroy();
    },
  };
}

export interface ApplyLayerOptions {
  /** The unpacked layers below this one, topmost first (for hard links to their files and parents the tar leaves out). */
  lowerDirs?: readonly string[];
}

/**
 * Unpacks the layer blob into `dest` (which must not exist) in overlayfs format and checks that the
 * uncompressed stream hashes to `expectedDiffId`. On any failure `dest` is removed entirely.
 */
export async function applyLayer(source: LayerSource, dest: string, expectedDiffId: string, options: ApplyLayerOptions = {}): Promise<LayerStats> {
  if (!/^sha256:[0-9a-f]{64}$/.test(expectedDiffId)) {
    throw new ValidationError("diffId", `${JSON.stringify(expectedDiffId)} is not a sha256 digest`, "pass the layer's diff_id from the image config (sha256:<64 hex>)");
  }
  mkdirSync(dest, 0o755);
  try {
    const input = uncompressed(source);
    let entries = 0;
    try {
      const writer = new LayerWriter(dest, source.path, options.lowerDirs ?? []);
      for await (const member of readTar(input.chunks, source.path)) {
        await writer.apply(member);
        entries++;
      }
      writer.finish();
      // The diff_id covers the whole stream, including the padding after the end-of-archive blocks.
      for await (const _ of input.chunks);
    } finally {
      input.close();
    }
    const diffId = input.digest();
    if (diffId !== expectedDiffId) {
      throw new CorruptFileError(source.path, `the uncompressed layer is ${diffId}, but the image config says its diff_id is ${expectedDiffId}`);
    }
    return { diffId, size: input.size(), entries };
  } catch (err) {
    const failure = withContext(err, `unpack layer ${source.path} into ${dest}`);
    throw await afterUndo(failure, `remove ${dest}`, () => rmSync(dest, { recursive: true, force: true }));
  }
}

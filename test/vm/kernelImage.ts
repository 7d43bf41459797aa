// The uncompressed ELF kernel inside a bzImage. qemu boots the ELF directly through its PVH entry
// note, which skips the bzImage's self-decompression: under software emulation that decompression
// costs seconds on every boot, while unpacking once on the host costs about one second per kernel.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { HostformError } from "../../src/sys/errors";

/** A bzImage that cannot be unpacked (unknown layout or compression, decompressor failure). */
export class KernelImageError extends HostformError {}

/** Where the compressed kernel sits inside a bzImage, read from its boot protocol header. */
export interface BzImagePayload {
  offset: number;
  length: number;
  compression: "xz" | "gzip" | "zstd";
}

/**
 * Locates the payload from the x86 boot protocol header (Documentation/arch/x86/boot.rst):
 * setup_sects at 0x1f1, the "HdrS" magic at 0x202, payload_offset/payload_length at 0x248/0x24c,
 * the offset counting from the protected-mode code that follows the (setup_sects + 1) sectors.
 */
export function locatePayload(image: Buffer, path: string): BzImagePayload {
  if (image.length < 0x250 || image.toString("latin1", 0x202, 0x206) !== "HdrS") {
    throw new KernelImageError(`${path}: not a bzImage (no HdrS boot header at 0x202)`);
  }
  const version = image.readUInt16LE(0x206);
  if (version < 0x208) throw new KernelImageError(`${path}: boot protocol ${version.toString(16)} has no payload fields (need 2.08+)`);
  const setupSects = image[0x1f1] || 4; // 0 means 4, for ancient bootloaders' sake
  const offset = (setupSects + 1) * 512 + image.readUInt32LE(0x248);
  const length = image.readUInt32LE(0x24c);
  if (offset + length > image.length) throw new KernelImageError(`${path}: payload ${offset}+${length} runs past the file (${image.length} bytes)`);
  const magic = image.subarray(offset, offset + 6);
  let compression: BzImagePayload["compression"];
  if (magic.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) compression = "xz";
  else if (magic[0] === 0x1f && magic[1] === 0x8b) compression = "gzip";
  else if (magic.readUInt32LE(0) === 0xfd2fb528) compression = "zstd";
  else throw new KernelImageError(`${path}: payload compression not supported (magic ${magic.toString("hex")}; xz, gzip and zstd are)`);
  return { offset, length, compression };
}

/** Decompresses one stream with a host tool; the kernel build appends 4 size bytes the tool must ignore. */
function runDecompressor(tool: string, args: string[], input: Buffer, what: string, pkg: string): Buffer {
  const r = spawnSync(tool, args, { input, maxBuffer: 1 << 30 });
  if (r.error !== undefined) {
    throw new KernelImageError(`${what}: cannot run ${tool} (install Debian package ${pkg}): ${r.error.message}`, { cause: r.error });
  }
  if (r.status !== 0) throw new KernelImageError(`${what}: ${tool} ${args.join(" ")} exited ${r.status}: ${r.stderr.toString().trim()}`);
  return r.stdout;
}

/**
 * Decompresses data in one of the formats Debian uses for kernels and modules. xz and zstd need
 * their command-line tools (Node has neither); gzip uses zlib.
 */
export function decompress(data: Buffer, compression: BzImagePayload["compression"], what: string, xz = "xz"): Buffer {
  switch (compression) {
    case "xz":
      return runDecompressor(xz, ["-dc", "--single-stream"], data, what, "xz-utils");
    case "zstd":
      return runDecompressor("zstd", ["-dc", "-q"], data, what, "zstd");
    case "gzip":
      // zlib discards bytes after the gzip member that are not another member: the size trailer.
      return gunzipSync(data);
  }
}

/** Reads a bzImage and returns the ELF kernel inside it. */
export function extractElfKernel(imagePath: string, xz: string): Buffer {
  const image = readFileSync(imagePath);
  const p = locatePayload(image, imagePath);
  const elf = decompress(image.subarray(p.offset, p.offset + p.length), p.compression, imagePath, xz);
  if (elf.length < 4 || elf.readUInt32BE(0) !== 0x7f454c46) throw new KernelImageError(`${imagePath}: the unpacked payload is not an ELF file`);
  return elf;
}

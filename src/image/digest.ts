// Content digests: the store names every blob by the sha256 of its bytes, and hostform checks that
// itself rather than trusting the tool that copied them.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

const SHA256 = /^sha256:[0-9a-f]{64}$/;

/** Whether text is a digest the store can hold ("sha256:" + 64 lowercase hex digits). */
export function isSha256Digest(text: unknown): text is string {
  return typeof text === "string" && SHA256.test(text);
}

export function sha256Digest(bytes: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** The digest and size of a file, read as a stream (layers can be gigabytes). */
export async function fileDigest(path: string): Promise<{ digest: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const b = chunk as Buffer;
    size += b.length;
    hash.update(b);
  }
  return { digest: `sha256:${hash.digest("hex")}`, size };
}

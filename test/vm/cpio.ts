// The initramfs format the kernel unpacks: "newc" cpio (ASCII hex headers, 4-byte alignment).
// Written here rather than with the cpio binary so that the archive is byte-for-byte reproducible
// (fixed inode numbers and mtime 0) and the runner needs one less host tool.

/** One member of an archive. Paths are relative to the archive root, without a leading slash. */
export type CpioEntry =
  | { kind: "dir"; path: string; mode: number }
  | { kind: "file"; path: string; mode: number; data: Buffer }
  | { kind: "symlink"; path: string; target: string };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const TRAILER = "TRAILER!!!";

function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

function pad4(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

function member(ino: number, mode: number, nlink: number, name: string, data: Buffer): Buffer[] {
  const nameBytes = Buffer.from(`${name}\0`, "utf8");
  const header = Buffer.from(
    "070701" +
      [ino, mode, 0, 0, nlink, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0].map(hex8).join(""),
    "ascii",
  );
  // The name is padded so that header + name ends on a 4-byte boundary; the data likewise.
  return [header, nameBytes, pad4(header.length + nameBytes.length), data, pad4(data.length)];
}

/**
 * Serialises entries into a newc cpio archive, in the order given: the kernel creates each member
 * as it reads it, so a directory must come before what it contains.
 */
export function writeCpio(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const e of entries) {
    const path = e.path.replace(/^\/+/, "");
    switch (e.kind) {
      case "dir":
        parts.push(...member(ino++, S_IFDIR | (e.mode & 0o7777), 2, path, Buffer.alloc(0)));
        break;
      case "file":
        parts.push(...member(ino++, S_IFREG | (e.mode & 0o7777), 1, path, e.data));
        break;
      case "symlink":
        parts.push(...member(ino++, S_IFLNK | 0o777, 1, path, Buffer.from(e.target, "utf8")));
        break;
    }
  }
  parts.push(...member(0, 0, 1, TRAILER, Buffer.alloc(0)));
  return Buffer.concat(parts);
}

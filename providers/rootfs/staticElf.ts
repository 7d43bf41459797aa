// Whether a binary can run inside a root filesystem that has no dynamic loader: an ELF executable
// without a PT_INTERP program header is statically linked (the kernel loads it on its own).
import { closeSync, openSync, readSync } from "node:fs";
import { SysError, ValidationError } from "../../src/sys/errors";

const PT_INTERP = 3;

/** Throws ValidationError naming `field` unless `path` is a 64-bit little-endian static ELF executable. */
export function assertStaticElf(path: string, field: string): void {
  const head = Buffer.alloc(4096);
  let n: number;
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    const e = SysError.fromNode(err, `open ${field}`);
    if (e instanceof SysError && e.code === "ENOENT") throw new ValidationError(field, `${path} does not exist`, "install busybox-static (apt-get install busybox-static) or give its path");
    throw e;
  }
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (n < 64 || head.readUInt32BE(0) !== 0x7f454c46) throw new ValidationError(field, `${path} is not an ELF executable`);
  if (head[4] !== 2 || head[5] !== 1) throw new ValidationError(field, `${path} is not a 64-bit little-endian ELF file`);
  const phoff = Number(head.readBigUInt64LE(32));
  const phentsize = head.readUInt16LE(54);
  const phnum = head.readUInt16LE(56);
  if (phoff + phentsize * phnum > n) throw new ValidationError(field, `${path}: program headers lie beyond the first ${head.length} bytes`);
  for (let i = 0; i < phnum; i++) {
    if (head.readUInt32LE(phoff + i * phentsize) === PT_INTERP) {
      throw new ValidationError(field, `${path} is dynamically linked and cannot run in a rootfs without its libraries`, "use the busybox from busybox-static");
    }
  }
}

// A streaming tar reader for image layers: ustar headers, pax extended headers (x and g), GNU long
// names (L and K) and base-256 numbers, which is what docker, buildah, umoci and GNU tar write. The
// body of each entry is handed out in the chunks the source delivers, so a layer of any size passes
// through in bounded memory.
import { CorruptFileError } from "../sys/errors";

export type TarEntryType = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";

export interface TarEntry {
  /** The member name as written (pax/GNU long name applied); the caller normalises it. */
  path: string;
  type: TarEntryType;
  /** Permission bits incl. setuid/setgid/sticky (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Body size in bytes (0 for everything but files). */
  size: number;
  /** Seconds since the epoch; pax headers give a fraction. */
  mtime: number;
  /** Symlink target or hard-link target path. */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes from pax SCHILY.xattr.* / LIBARCHIVE.xattr.* records. */
  xattrs: Map<string, Buffer>;
}

export interface TarMember {
  entry: TarEntry;
  /** The body in chunks; must be consumed (or left alone: the reader skips what is left). */
  body(): AsyncGenerator<Buffer>;
}

const BLOCK = 512;
/** pax and GNU long-name records are metadata: refusing absurd sizes keeps a hostile layer from buffering gigabytes. */
const MAX_META = 16 << 20;

/** Exact-size reads over an async chunk source, keeping at most one partial chunk. */
class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private done = false;
  constructor(
    private readonly it: AsyncIterator<Buffer>,
    private readonly name: string,
  ) {}

  private async more(): Promise<boolean> {
    if (this.done) return false;
    const r = await this.it.next();
    if (r.done === true) {
      this.done = true;
      return false;
    }
    const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    return true;
  }

  /** Exactly n bytes, or undefined at a clean end of input (nothing buffered). */
  async read(n: number): Promise<Buffer | undefined> {
    while (this.buf.length < n) {
      if (!(await this.more())) {
        if (this.buf.length === 0) return undefined;
        throw truncated(this.name);
      }
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  async readExact(n: number): Promise<Buffer> {
    const b = await this.read(n);
    if (b === undefined) throw truncated(this.name);
    return b;
  }

  /** n bytes as they arrive, without joining them. */
  async *chunks(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.more())) throw truncated(this.name);
      const take = Math.min(left, this.buf.length);
      const out = this.buf.subarray(0, take);
      this.buf = this.buf.subarray(take);
      left -= take;
      yield out;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.chunks(n));
  }

  /** Skips up to n bytes; the input ending first is not an error. */
  async skipUpTo(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.more())) return;
      const take = Math.min(left, this.buf.length);
      this.buf = this.buf.subarray(take);
      left -= take;
    }
  }
}

function truncated(name: string): CorruptFileError {
  return new CorruptFileError(name, "the tar archive is truncated (it ends inside an entry)");
}

function cstring(b: Buffer, off: number, len: number): string {
  const f = b.subarray(off, off + len);
  const nul = f.indexOf(0);
  return f.subarray(0, nul < 0 ? len : nul).toString("utf8");
}

/** Octal, or GNU base-256 when the top bit of the first byte is set (sizes ≥ 8 GiB, uids ≥ 2^21). */
function numeric(b: Buffer, off: number, len: number, field: string, name: string): number {
  const f = b.subarray(off, off + len);
  if (((f[0] ?? 0) & 0x80) !== 0) {
    const negative = ((f[0] ?? 0) & 0x40) !== 0;
    let v = BigInt((f[0] ?? 0) & 0x3f) - (negative ? 0x40n : 0n);
    for (let i = 1; i < len; i++) v = (v << 8n) | BigInt(f[i] ?? 0);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) throw new CorruptFileError(name, `tar header field ${field} is out of range`);
    return Number(v);
  }
  const s = f.toString("latin1").replace(/[\0 ]+$/, "").replace(/^[\0 ]+/, "");
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) throw new CorruptFileError(name, `tar header field ${field} is not a number: ${JSON.stringify(s)}`);
  return parseInt(s, 8);
}

/** The header checksum counts the checksum field itself as eight spaces; old tars summed signed bytes. */
function checksumOk(h: Buffer, stored: number): boolean {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : (h[i] as number);
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return stored === unsigned || stored === signed;
}

function isZeroBlock(h: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (h[i] !== 0) return false;
  return true;
}

/** pax records: "<len> <key>=<value>\n", len counting the whole record; values are bytes (xattrs are binary). */
function parsePax(data: Buffer, name: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break;
    const sp = data.indexOf(0x20, pos);
    const len = sp < 0 ? NaN : parseInt(data.toString("latin1", pos, sp), 10);
    if (!Number.isInteger(len) || len <= sp - pos || pos + len > data.length || data[pos + len - 1] !== 0x0a) {
      throw new CorruptFileError(name, `malformed pax extended header record at offset ${pos}`);
    }
    const rec = data.subarray(sp + 1, pos + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq < 0) throw new CorruptFileError(name, `pax record without '=' at offset ${pos}`);
    out.set(rec.subarray(0, eq).toString("utf8"), Buffer.from(rec.subarray(eq + 1)));
    pos += len;
  }
  return out;
}

const TYPES: Record<string, TarEntryType> = {
  "0": "file", "\0": "file", "7": "file", "1": "hardlink", "2": "symlink", "3": "char", "4": "block", "5": "dir", "6": "fifo",
};

/** Applies pax overrides (global first, then the entry's own) to a parsed header. */
function applyPax(e: TarEntry, pax: Map<string, Buffer>, name: string): void {
  for (const [key, raw] of pax) {
    const v = raw.toString("utf8");
    const num = (): number => {
      if (!/^-?[0-9]+(\.[0-9]*)?$/.test(v)) throw new CorruptFileError(name, `pax ${key} is not a number: ${JSON.stringify(v)}`);
      return Number(v);
    };
    if (key === "path") e.path = v;
    else if (key === "linkpath") e.linkname = v;
    else if (key === "size") e.size = num();
    else if (key === "uid") e.uid = num();
    else if (key === "gid") e.gid = num();
    else if (key === "mtime") e.mtime = num();
    else if (key.startsWith("SCHILY.xattr.")) e.xattrs.set(key.slice("SCHILY.xattr.".length), raw);
    // libarchive URL-encodes the name and base64-encodes the value.
    else if (key.startsWith("LIBARCHIVE.xattr.")) e.xattrs.set(decodeURIComponent(key.slice("LIBARCHIVE.xattr.".length)), Buffer.from(v, "base64"));
  }
}

/**
 * Reads the members of a tar stream in order. `name` (the blob path) labels errors. The stream is
 * read up to the end-of-archive marker; the caller drains whatever padding follows if it needs it.
 */
export async function* readTar(source: AsyncIterable<Buffer>, name: string): AsyncGenerator<TarMember> {
  const r = new ByteReader(source[Symbol.asyncIterator](), name);
  let globalPax = new Map<string, Buffer>();
  let pax: Map<string, Buffer> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const h = await r.read(BLOCK);
    // A missing end-of-archive marker after a whole member: tolerated, as GNU tar and Go's reader do.
    if (h === undefined) {
      if (pax !== undefined || longName !== undefined || longLink !== undefined) throw truncated(name);
      return;
    }
    if (isZeroBlock(h)) return;
    const sum = numeric(h, 148, 8, "chksum", name);
    if (!checksumOk(h, sum)) throw new CorruptFileError(name, "tar header checksum mismatch (not a tar archive, or corrupt)");
    const flag = String.fromCharCode(h[156] as number);
    let size = numeric(h, 124, 12, "size", name);
    const padded = (n: number): number => Math.ceil(n / BLOCK) * BLOCK;

    if (flag === "x" || flag === "g" || flag === "L" || flag === "K") {
      if (size > MAX_META) throw new CorruptFileError(name, `tar metadata record of ${size} bytes is too large`);
      const data = (await r.readExact(padded(size))).subarray(0, size);
      if (flag === "x") pax = parsePax(data, name);
      else if (flag === "g") globalPax = new Map([...globalPax, ...parsePax(data, name)]);
      else {
        const s = cstring(data, 0, data.length);
        if (flag === "L") longName = s;
        else longLink = s;
      }
      continue;
    }

    const type = TYPES[flag];
    if (type === undefined) {
      // Unknown types (GNU sparse 'S', volume labels 'V', ...) cannot be represented: refusing is safer than guessing.
      throw new CorruptFileError(name, `unsupported tar entry type ${JSON.stringify(flag)} for ${cstring(h, 0, 100)}`);
    }
    const magic = h.toString("latin1", 257, 263);
    const prefix = magic.startsWith("ustar") && magic !== "ustar " ? cstring(h, 345, 155) : "";
    const entry: TarEntry = {
      path: prefix === "" ? cstring(h, 0, 100) : `${prefix}/${cstring(h, 0, 100)}`,
      type,
      mode: numeric(h, 100, 8, "mode", name) & 0o7777,
      uid: numeric(h, 108, 8, "uid", name),
      gid: numeric(h, 116, 8, "gid", name),
      size,
      mtime: numeric(h, 136, 12, "mtime", name),
      linkname: cstring(h, 157, 100),
      devmajor: type === "char" || type === "block" ? numeric(h, 329, 8, "devmajor", name) : 0,
      devminor: type === "char" || type === "block" ? numeric(h, 337, 8, "devminor", name) : 0,
      xattrs: new Map(),
    };
    if (longName !== undefined) entry.path = longName;
    if (longLink !== undefined) entry.linkname = longLink;
    applyPax(entry, globalPax, name);
    if (pax !== undefined) applyPax(entry, pax, name);
    pax = undefined;
    longName = undefined;
    longLink = undefined;
    // Only regular files carry a body: other types are header-only whatever their size field says (as in Go's reader).
    size = entry.type === "file" ? entry.size : 0;
    entry.size = size;

    let consumed = 0;
    let current = true;
    const body = async function* (): AsyncGenerator<Buffer> {
      if (!current) throw new Error(`tar body of ${entry.path} read after the reader moved on`);
      if (entry.type !== "file") return;
      for await (const c of r.chunks(size - consumed)) {
        consumed += c.length;
        yield c;
      }
    };
    yield { entry, body };
    current = false;
    await r.skip(size - consumed);
    consumed = size;
    // The last body's padding may be missing with the end marker: umoci 0.4.7 writes such layers
    // (the body whole, then nothing), and Go's reader, which podman and containerd use, takes them.
    await r.skipUpTo(padded(size) - size);
  }
}

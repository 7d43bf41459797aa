// Lists a tree with everything the differential unpack test compares. Run as a program it prints
// the listing as JSON, so a child inside a private mount namespace can list an overlay mount that
// the test process never sees.
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { getXattr, listXattrs } from "../../src/sys/xattr";

export interface ListedEntry {
  type: string;
  mode: string;
  owner: string;
  size?: number;
  target?: string;
  rdev?: string;
  xattrs: Record<string, string>;
  sha256?: string;
  /** The first path (in sorted order) of the entry's hard-link group, for files that share their inode with another visible path. */
  linkGroup?: string;
  mtime: number;
}

function typeOf(st: ReturnType<typeof lstatSync> & object): string {
  if (st.isDirectory()) return "dir";
  if (st.isFile()) return "file";
  if (st.isSymbolicLink()) return "symlink";
  if (st.isCharacterDevice()) return "char";
  if (st.isBlockDevice()) return "block";
  if (st.isFIFO()) return "fifo";
  return "other";
}

export function listTree(root: string): Record<string, ListedEntry> {
  const out: Record<string, ListedEntry> = {};
  const groups = new Map<string, string>();
  const walk = (rel: string): void => {
    const p = rel === "" ? root : join(root, rel);
    const st = lstatSync(p);
    const type = typeOf(st);
    const xattrs: Record<string, string> = {};
    for (const name of listXattrs(p).sort()) {
      if (name.startsWith("trusted.overlay.")) continue;
      xattrs[name] = getXattr(p, name)?.toString("hex") ?? "";
    }
    const e: ListedEntry = { type, mode: (Number(st.mode) & 0o7777).toString(8), owner: `${st.uid}:${st.gid}`, xattrs, mtime: Math.round(Number(st.mtimeMs)) };
    if (type === "file") {
      e.size = Number(st.size);
      e.sha256 = createHash("sha256").update(readFileSync(p)).digest("hex");
    }
    if (type === "symlink") e.target = readlinkSync(p);
    if (type === "char" || type === "block") e.rdev = `${Math.floor(Number(st.rdev) / 256)}:${Number(st.rdev) % 256}`;
    if (type !== "dir" && Number(st.nlink) > 1) {
      const key = `${st.dev}:${st.ino}`;
      if (!groups.has(key)) groups.set(key, rel);
      e.linkGroup = groups.get(key) as string;
    }
    out[rel === "" ? "." : rel] = e;
    if (type === "dir") for (const name of readdirSync(p).sort()) walk(rel === "" ? name : join(rel, name));
  };
  walk("");
  // nlink counts names the overlay hides (a lower link whose sibling was whited out): only visible groups count.
  const sizes = new Map<string, number>();
  for (const e of Object.values(out)) if (e.linkGroup !== undefined) sizes.set(e.linkGroup, (sizes.get(e.linkGroup) ?? 0) + 1);
  for (const e of Object.values(out)) if (e.linkGroup !== undefined && sizes.get(e.linkGroup) === 1) delete e.linkGroup;
  return out;
}

if (require.main === module) {
  process.stdout.write(JSON.stringify(listTree(process.argv[2] as string)));
}

// Writes one layer's tar members into its own directory in overlayfs format, so that the layer
// dirs stacked as lowerdirs show the same tree as applying the layers one over another (what umoci
// does): whiteouts become 0/0 character devices, opaque markers the trusted.overlay.opaque xattr.
// Every path is resolved in the LayerTree model, so a write can only land inside the layer dir.
import { chmodSync, closeSync, copyFileSync, lchownSync, linkSync, lstatSync, mkdirSync, openSync, constants as fsc, readlinkSync, rmSync, symlinkSync, lutimesSync, writeSync } from "node:fs";
import type { Stats } from "node:fs";
import { join } from "node:path";
import { CorruptFileError, withContext } from "../sys/errors";
import { mknod } from "../sys/libc";
import { getXattr, listXattrs, setXattr } from "../sys/xattr";
import { LayerTree, normalizeMemberPath, type TreeNode } from "./layerTree";
import type { TarEntry, TarMember } from "./tar";

const WHITEOUT_PREFIX = ".wh.";
const OPAQUE_MARKER = ".wh..wh..opq";
const OPAQUE_XATTR = "trusted.overlay.opaque";
const S_IFIFO = 0o010000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;

/** What a member's metadata needs to be applied to a path. */
interface Meta {
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  xattrs: Map<string, Buffer>;
}

export class LayerWriter {
  private readonly tree: LayerTree;
  /** Lower-layer files already copied for hard links: the second link to one joins the first copy. */
  private readonly lowerCopies = new Map<string, string[]>();

  constructor(
    private readonly dest: string,
    private readonly blob: string,
    /** Lower layer dirs, topmost first: consulted only for hard links to lower files and for parents a tar does not list. */
    private readonly lowerDirs: readonly string[],
  ) {
    this.tree = new LayerTree(blob);
    const lowerRoot = this.findInLowers([]);
    if (lowerRoot !== undefined) this.tree.root.mtime = this.copyMeta(lowerRoot.path, [], lowerRoot.stat);
  }

  private abs(path: readonly string[]): string {
    return path.length === 0 ? this.dest : join(this.dest, ...path);
  }

  async apply(member: TarMember): Promise<void> {
    const e = member.entry;
    const comps = normalizeMemberPath(e.path, this.blob);
    try {
      if (comps.length === 0) {
        if (e.type !== "dir") throw new CorruptFileError(this.blob, `the layer's root entry is a ${e.type}, not a directory`);
        this.applyMeta([], this.tree.root, e);
        return;
      }
      const name = comps[comps.length - 1] as string;
      const parent = this.tree.resolveDir(comps.slice(0, -1), (p, existing) => this.parentFor(p, existing));
      if (parent === undefined) throw new Error("unreachable: parentFor always gives a node");
      if (name === OPAQUE_MARKER) {
        parent.node.opaque = true;
        return;
      }
      // Other .wh..wh.* names are aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs), not content.
      if (name.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) return;
      if (name.startsWith(WHITEOUT_PREFIX)) {
        this.whiteout(parent.path, parent.node, name.slice(WHITEOUT_PREFIX.length));
        return;
      }
      await this.create([...parent.path, name], parent.node, name, member);
    } catch (err) {
      throw withContext(err, `layer member ${JSON.stringify(e.path)}`);
    }
  }

  /** A whiteout only hides lower layers: an entry of the same name in this layer wins, and a dir of that name becomes opaque. */
  private whiteout(dirPath: string[], dir: TreeNode, name: string): void {
    const existing = dir.children?.get(name);
    if (existing !== undefined && existing.lower !== true) {
      if (existing.kind === "dir") existing.opaque = true;
      return;
    }
    const path = [...dirPath, name];
    mknod(this.abs(path), S_IFCHR, 0, 0);
    chmodSync(this.abs(path), 0);
    dir.children?.set(name, { kind: "whiteout" });
  }

  private async create(path: string[], parent: TreeNode, name: string, member: TarMember): Promise<void> {
    const e = member.entry;
    const p = this.abs(path);
    const found = parent.children?.get(name);
    // A lower layer's symlink remembered for resolving paths is not in this layer's dir.
    const existing = found?.lower === true ? undefined : found;
    if (found?.lower === true) parent.children?.delete(name);
    // The same layer naming a dir twice updates it; anything else replaces what was there.
    if (existing !== undefined && !(existing.kind === "dir" && e.type === "dir")) {
      rmSync(p, { recursive: true, force: true });
      parent.children?.delete(name);
    }
    let node: TreeNode;
    switch (e.type) {
      case "dir":
        if (existing?.kind === "dir") node = existing;
        else {
          mkdirSync(p);
          // A dir replacing this layer's whiteout of the same name hides the lower dirs' contents.
          node = { kind: "dir", children: new Map(), opaque: existing?.kind === "whiteout" };
        }
        parent.children?.set(name, node);
        this.applyMeta(path, node, e);
        return;
      case "file":
        await this.writeFile(p, member);
        node = { kind: "file" };
        break;
      case "symlink":
        symlinkSync(e.linkname, p);
        node = { kind: "symlink", target: e.linkname };
        break;
      case "hardlink":
        parent.children?.set(name, this.hardLink(path, e.linkname));
        return;
      case "char":
      case "block":
      case "fifo": {
        const type = e.type === "char" ? S_IFCHR : e.type === "block" ? S_IFBLK : S_IFIFO;
        mknod(p, type | 0o600, e.devmajor, e.devminor);
        node = { kind: "special" };
        break;
      }
    }
    parent.children?.set(name, node);
    this.applyMeta(path, node, e);
  }

  private async writeFile(p: string, member: TarMember): Promise<void> {
    // O_EXCL|O_NOFOLLOW: the path was just cleared, so anything there now is not ours to write through.
    const fd = openSync(p, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
    try {
      for await (const chunk of member.body()) {
        for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off, chunk.length - off);
      }
    } finally {
      closeSync(fd);
    }
  }

  /** Links within the layer; a target only in a lower layer is copied up, since links cannot cross layer dirs. */
  private hardLink(path: string[], linkname: string): TreeNode {
    const comps = normalizeMemberPath(linkname, this.blob);
    const dir = comps.length === 0 ? undefined : this.tree.resolveDir(comps.slice(0, -1), (p, existing) => this.lowerOnly(p, existing));
    if (dir === undefined) throw new CorruptFileError(this.blob, `hard link ${path.join("/")} points to ${linkname}, which is in neither this layer nor a lower one`);
    const targetPath = [...dir.path, comps[comps.length - 1] as string];
    const found = this.tree.lookup(targetPath);
    const target = found?.lower === true ? undefined : found;
    if (target !== undefined) {
      if (target.kind === "dir") throw new CorruptFileError(this.blob, `hard link ${path.join("/")} points to directory ${linkname}`);
      if (target.kind === "whiteout") throw new CorruptFileError(this.blob, `hard link ${path.join("/")} points to ${linkname}, which this layer deletes`);
      linkSync(this.abs(targetPath), this.abs(path));
      return { ...target };
    }
    const key = targetPath.join("/");
    const first = this.lowerCopies.get(key);
    if (first !== undefined && this.tree.lookup(first)?.kind === "file") {
      linkSync(this.abs(first), this.abs(path));
      return { kind: "file" };
    }
    const lower = this.findInLowers(targetPath);
    if (lower === undefined || !lower.stat.isFile()) {
      throw new CorruptFileError(this.blob, `hard link ${path.join("/")} points to ${linkname}, which is in neither this layer nor a lower one as a regular file`);
    }
    copyFileSync(lower.path, this.abs(path), fsc.COPYFILE_EXCL);
    this.copyMeta(lower.path, path, lower.stat);
    this.lowerCopies.set(key, path);
    return { kind: "file" };
  }

  /**
   * The object at a path in the merged view of the lower layers: the topmost lower that has it,
   * walked one component at a time with lstat so that a lower layer's symlink is never followed
   * (it could point anywhere on the host). A whiteout or non-dir on the way, or an opaque dir that
   * lacks the rest of the path, hides everything below it.
   */
  private findInLowers(comps: readonly string[]): { path: string; stat: Stats } | undefined {
    for (const lower of this.lowerDirs) {
      let p = lower;
      let st = lstatSync(p);
      let opaqueAbove = false;
      let found = true;
      for (const c of comps) {
        if (!st.isDirectory()) return undefined;
        if (getXattr(p, OPAQUE_XATTR)?.toString() === "y") opaqueAbove = true;
        p = join(p, c);
        const next = lstatSync(p, { throwIfNoEntry: false });
        if (next === undefined) {
          found = false;
          break;
        }
        st = next;
      }
      if (!found) {
        if (opaqueAbove) return undefined;
        continue;
      }
      if (st.isCharacterDevice() && st.rdev === 0) return undefined;
      return { path: p, stat: st };
    }
    return undefined;
  }

  /**
   * A parent this layer does not have. A lower layer's symlink is followed (umoci writes through
   * it into the tree below). Otherwise the dir is made here with the lower dir's owner, mode,
   * xattrs and mtime, as umoci keeps the existing dir's; after this layer's own whiteout of the
   * name it is a fresh, opaque dir.
   */
  private parentFor(path: string[], existing: TreeNode | undefined): TreeNode {
    const lower = existing?.kind === "whiteout" ? undefined : this.findInLowers(path);
    if (lower?.stat.isSymbolicLink() === true) return { kind: "symlink", target: readlinkSync(lower.path), lower: true };
    const p = this.abs(path);
    if (existing?.kind === "whiteout") rmSync(p);
    mkdirSync(p, 0o755);
    chmodSync(p, 0o755);
    const node: TreeNode = { kind: "dir", children: new Map(), opaque: existing?.kind === "whiteout" };
    if (lower !== undefined && lower.stat.isDirectory()) node.mtime = this.copyMeta(lower.path, path, lower.stat);
    return node;
  }

  /** For a lookup (a hard link's target): what the lower layers have at a name this layer lacks, without making anything. */
  private lowerOnly(path: string[], existing: TreeNode | undefined): TreeNode | undefined {
    if (existing?.kind === "whiteout") return undefined;
    const lower = this.findInLowers(path);
    if (lower?.stat.isSymbolicLink() === true) return { kind: "symlink", target: readlinkSync(lower.path), lower: true };
    if (lower?.stat.isDirectory() === true) return { kind: "dir", children: new Map(), lower: true };
    return undefined;
  }

  /** Owner, mode, xattrs (not overlay's own) and, for non-dirs, mtime of a lower object onto ours; returns the mtime. */
  private copyMeta(from: string, path: string[], st: Stats): number {
    const xattrs = new Map<string, Buffer>();
    for (const name of listXattrs(from)) {
      if (name.startsWith("trusted.overlay.")) continue;
      const v = getXattr(from, name);
      if (v !== undefined) xattrs.set(name, v);
    }
    const mtime = Number(st.mtimeMs) / 1000;
    const kind = st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : "file";
    this.applyMeta(path, { kind }, { mode: Number(st.mode) & 0o7777, uid: Number(st.uid), gid: Number(st.gid), mtime, xattrs });
    return mtime;
  }

  /**
   * chown first (it clears setuid/setgid and file capabilities), then the mode, then xattrs, so
   * all of them survive. Dir mtimes wait for finish(): entries created later would change them.
   */
  private applyMeta(path: string[], node: TreeNode, m: Meta | TarEntry): void {
    const p = this.abs(path);
    lchownSync(p, m.uid, m.gid);
    // chmod follows symlinks, and a symlink's mode means nothing on Linux.
    if (node.kind !== "symlink") chmodSync(p, m.mode & 0o7777);
    const names = [...m.xattrs.keys()].sort((a, b) => Number(a === "security.capability") - Number(b === "security.capability"));
    for (const name of names) {
      // overlay's own attributes in a layer would let a layer fake whiteouts or redirects of other layers.
      if (name.startsWith("trusted.overlay.")) continue;
      setXattr(p, name, m.xattrs.get(name) as Buffer);
    }
    if (node.kind === "dir") node.mtime = m.mtime;
    else lutimesSync(p, m.mtime, m.mtime);
  }

  /** Opaque markers, then directory mtimes: last, because every entry created in a dir changed its mtime. */
  finish(): void {
    for (const { path, node } of this.tree.dirs()) {
      if (node.opaque === true) setXattr(this.abs(path), OPAQUE_XATTR, "y");
    }
    for (const { path, node } of this.tree.dirs()) {
      if (node.mtime !== undefined) lutimesSync(this.abs(path), node.mtime, node.mtime);
    }
  }
}

// What one layer's directory holds so far, in memory. The layer dir starts empty and only the
// applier writes into it, so this model is exact: paths are resolved against it, never against the
// disk. A symlink in the layer is followed the way openat2(RESOLVE_IN_ROOT) would (absolute targets
// and ".." stop at the layer's root), which is also how umoci resolves parents, so a hostile layer
// can never make the applier write outside its directory.
import { CorruptFileError } from "../sys/errors";

export type NodeKind = "dir" | "file" | "symlink" | "special" | "whiteout";

export interface TreeNode {
  kind: NodeKind;
  /** Children of a directory. */
  children?: Map<string, TreeNode>;
  /** A symlink's target as written in the layer. */
  target?: string;
  /** A directory's mtime, restored after everything else (creating entries inside changes it). */
  mtime?: number;
  /** This layer hides the lower layers' contents of this directory (trusted.overlay.opaque=y). */
  opaque?: boolean;
  /** Not in this layer's dir: a lower layer's symlink (or dir, during a lookup) that paths resolve through. */
  lower?: boolean;
}

/** Symlinks followed in one resolution before giving up, as the kernel's MAXSYMLINKS. */
const MAX_HOPS = 40;

/** A member name → path components inside the layer; "/" and "./" prefixes go, ".." may not leave the root. */
export function normalizeMemberPath(name: string, blob: string): string[] {
  const out: string[] = [];
  for (const c of name.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") {
      if (out.length === 0) throw new CorruptFileError(blob, `tar member ${JSON.stringify(name)} points outside the layer (refused)`);
      out.pop();
    } else out.push(c);
  }
  return out;
}

export interface ResolvedDir {
  /** Real components of the directory inside the layer (symlinks resolved). */
  path: string[];
  node: TreeNode;
}

export class LayerTree {
  readonly root: TreeNode = { kind: "dir", children: new Map() };

  constructor(private readonly blob: string) {}

  /**
   * The directory that `comps` names, following symlinks inside the root. A name this layer does
   * not have (or deletes) goes to `missing`, which says what the layers below make of it: a
   * symlink there is followed too, as umoci follows it in the tree it unpacks into; a dir is made
   * (a tar need not list every parent) or, for a lookup, walked through. undefined stops the walk.
   */
  resolveDir(comps: readonly string[], missing: (path: string[], existing: TreeNode | undefined) => TreeNode | undefined): ResolvedDir | undefined {
    let path: string[] = [];
    let nodes: TreeNode[] = [this.root];
    const queue = [...comps];
    let hops = 0;
    while (queue.length > 0) {
      const c = queue.shift() as string;
      if (c === "" || c === ".") continue;
      if (c === "..") {
        if (path.length > 0) {
          path = path.slice(0, -1);
          nodes = nodes.slice(0, -1);
        }
        continue;
      }
      const cur = nodes[nodes.length - 1] as TreeNode;
      let child = cur.children?.get(c);
      if (child === undefined || child.kind === "whiteout" || (child.lower === true && child.kind !== "symlink")) {
        child = missing([...path, c], child);
        if (child === undefined) return undefined;
        // A lower dir walked through for a lookup is not in this layer: remembering it would make later writes miss their parent.
        if (!(child.lower === true && child.kind === "dir")) cur.children?.set(c, child);
      }
      if (child.kind === "symlink") {
        if (++hops > MAX_HOPS) throw new CorruptFileError(this.blob, `too many levels of symlinks resolving ${comps.join("/")}`);
        const target = child.target ?? "";
        if (target.startsWith("/")) {
          path = [];
          nodes = [this.root];
        }
        queue.unshift(...target.split("/"));
        continue;
      }
      if (child.kind !== "dir") {
        throw new CorruptFileError(this.blob, `${comps.join("/")}: ${[...path, c].join("/")} is not a directory`);
      }
      path = [...path, c];
      nodes = [...nodes, child];
    }
    return { path, node: nodes[nodes.length - 1] as TreeNode };
  }

  /** The node at a real path (no symlink following), or undefined. */
  lookup(path: readonly string[]): TreeNode | undefined {
    let n: TreeNode | undefined = this.root;
    for (const c of path) {
      n = n?.children?.get(c);
      if (n === undefined) return undefined;
    }
    return n;
  }

  /** Every directory with its real path, parents before children. */
  *dirs(): Generator<{ path: string[]; node: TreeNode }> {
    const stack: { path: string[]; node: TreeNode }[] = [{ path: [], node: this.root }];
    while (stack.length > 0) {
      const top = stack.pop() as { path: string[]; node: TreeNode };
      yield top;
      for (const [name, child] of top.node.children ?? []) {
        if (child.kind === "dir") stack.push({ path: [...top.path, name], node: child });
      }
    }
  }
}

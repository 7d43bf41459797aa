// Reading a copy-on-write root before it is mounted: the lookups create's checks make on the host
// (is the program there, what do /etc/passwd and /etc/group say) answered from the read-only layers
// as overlayfs would answer them. The topmost layer holding a name wins; a whiteout (a 0/0 character
// device) hides the name below it, an opaque directory (trusted.overlay.opaque=y) everything below
// it, and a file where a lower layer has a directory hides that directory. Symlinks resolve against
// the merged root, as resolveInRoot does for a plain one.
import { lstatSync, type Stats } from "node:fs";
import { join } from "node:path";
import { SysError, hasCode } from "../sys/errors";
import { getXattr } from "../sys/xattr";
import { resolveInRoot, walkInRoot } from "./rootPath";

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if (hasCode(err, "ENOENT") || hasCode(err, "ENOTDIR")) return undefined;
    throw SysError.fromNode(err, "look up in the image's layers");
  }
}

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

function isOpaque(dir: string): boolean {
  return getXattr(dir, "trusted.overlay.opaque")?.toString() === "y";
}

/** Whether `layer` hides every lower layer's entry at parts (an ancestor of it there is opaque, a whiteout or not a directory). */
function hidesBelow(layer: string, parts: readonly string[]): boolean {
  for (let i = parts.length - 1; i >= 1; i--) {
    const st = lstatOrUndefined(join(layer, ...parts.slice(0, i)));
    if (st === undefined) continue;
    if (isWhiteout(st) || !st.isDirectory()) return true;
    if (isOpaque(join(layer, ...parts.slice(0, i)))) return true;
    // The nearest ancestor this layer has decides; anything above it was looked at by the caller's walk.
    return false;
  }
  return false;
}

/** The host path and stat of the merged entry at parts (no symlink followed), or undefined. */
function lookup(layers: readonly string[], parts: readonly string[]): { path: string; st: Stats } | undefined {
  for (const layer of layers) {
    const path = join(layer, ...parts);
    const st = lstatOrUndefined(path);
    if (st !== undefined) return isWhiteout(st) ? undefined : { path, st };
    if (hidesBelow(layer, parts)) return undefined;
  }
  return undefined;
}

/**
 * The host path of `inner` in the merged view of layers (topmost first), symlinks followed inside
 * it; undefined when the merged root has no such entry.
 */
export function findInLayers(layers: readonly string[], inner: string): string | undefined {
  const walk = walkInRoot(inner, layers[0] ?? "", (parts) => {
    const hit = lookup(layers, parts);
    return hit === undefined ? undefined : { host: hit.path, symlink: hit.st.isSymbolicLink() };
  });
  if (walk.missing !== undefined) return undefined;
  return walk.parts.length === 0 ? layers[0] : lookup(layers, walk.parts)?.path;
}

/** A root as create's checks read it: a directory, or read-only layers (topmost first) not yet mounted. */
export type RootSource = string | { layers: readonly string[] };

/** The host path `inner` resolves to in root (for a directory it may not exist; for layers undefined then). */
export function findInRoot(root: RootSource, inner: string): string | undefined {
  return typeof root === "string" ? resolveInRoot(root, inner) : findInLayers(root.layers, inner);
}

/** How messages name a root. */
export function describeRoot(root: RootSource): string {
  return typeof root === "string" ? root : `(the image's ${root.layers.length} layers)`;
}

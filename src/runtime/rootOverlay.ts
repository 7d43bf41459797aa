// A copy-on-write root: the container's read-only layers (an image's unpacked layers, or a directory
// root shared by several containers) under an upper directory of its own, mounted as overlayfs at
// <container dir>/rootfs. Mounted on the host, as podman and containerd do, so the root is a plain
// directory for everything that reads it before the container runs (program and user lookups, the
// init's bind of the root) and for exec. The container's writes land in <container dir>/upper and go
// with the container's directory; a restart finds them again.
import { mkdirSync, statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { SysError, ValidationError, hasCode } from "../sys/errors";
import { MNT_DETACH } from "../sys/constants";
import { umount2 } from "../sys/libc";
import { isOverlayMounted, MAX_LOWER_LAYERS, mountOverlay } from "../sys/overlayMount";
import { readMountinfo } from "../sys/mountinfo";

/** The merged root of a container whose directory is dir. */
export function overlayRootPath(dir: string): string {
  return join(dir, "rootfs");
}

/** Checks the layers before anything is made: absolute, existing directories, not too many. */
export function checkRootLayers(layers: unknown, field = "rootLayers"): string[] {
  if (!Array.isArray(layers) || layers.length === 0) throw new ValidationError(field, "must be a non-empty list of directories, topmost first");
  if (layers.length > MAX_LOWER_LAYERS) throw new ValidationError(field, `has ${layers.length} layers; overlayfs stacks at most ${MAX_LOWER_LAYERS}`, "flatten the image");
  return layers.map((l, i) => {
    if (typeof l !== "string" || !isAbsolute(l)) throw new ValidationError(`${field}[${i}]`, `${JSON.stringify(l)} is not an absolute path`);
    let dir = false;
    try {
      dir = statSync(l).isDirectory();
    } catch (err) {
      if (!hasCode(err, "ENOENT") && !hasCode(err, "ENOTDIR")) throw SysError.fromNode(err, `check layer ${l}`);
    }
    if (!dir) throw new ValidationError(`${field}[${i}]`, `'${l}' is not a directory`, "unpack the layer (or the image) again");
    return l;
  });
}

/** Makes upper, work and the mount point under dir, and mounts the overlay; returns the merged root. */
export function mountRootOverlay(dir: string, layers: readonly string[]): string {
  const root = overlayRootPath(dir);
  if (isOverlayMounted(root)) return root;
  const upperDir = join(dir, "upper");
  const workDir = join(dir, "work");
  try {
    for (const d of [upperDir, workDir, root]) mkdirSync(d, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw SysError.fromNode(err, "make the container's copy-on-write directories");
  }
  mountOverlay({ lowerDirs: layers, upperDir, workDir }, root);
  return root;
}

/**
 * Unmounts everything mounted under dir (the merged root, an ID-mapped root, layers staged for it),
 * deepest first. Detached, so a shell left with its cwd in one cannot keep the container's
 * directory from going; afterwards nothing is mounted there, which makes removing the directory
 * safe (it never reaches into the layers or a rootfs directory bound there).
 */
export function unmountRootOverlay(dir: string): void {
  const under = (): string[] => readMountinfo().map((m) => m.mountPoint).filter((p) => p.startsWith(`${dir}/`));
  for (const p of under().sort((a, b) => b.length - a.length)) umount2(p, MNT_DETACH);
  const left = under();
  if (left.length > 0) throw new SysError("umount2", 16, left[0], "still mounted in the container's directory after a detach");
}

// The root of a container with a user namespace of its own (issue 16): the same layers or rootfs
// directory every other container uses, seen through an ID-mapped mount, so files owned by host
// uid 0 are the container's root's and nothing is chowned or copied. Mounted on the host at
// <container dir>/rootfs like any copy-on-write root (rootOverlay.ts):
// - a rootfs directory: an ID-mapped bind of it (with the mounts below it);
// - image layers: overlayfs cannot itself be ID-mapped, so each read-only layer is. The upper
//   directory is not: overlayfs makes its work directory there as the mounter (host root), which an
//   ID-mapped upper could not store (EOVERFLOW), so the container's writes land in its own upper
//   directory with the host ids they have (podman's way); the upper's root belongs to the container's
//   root, whose "/" it is. The mapped layer mounts sit under <container dir>/idmap only until the
//   overlay holds them, then go.
import { chownSync, closeSync, existsSync, mkdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { MNT_DETACH } from "../sys/constants";
import { SysError, ValidationError } from "../sys/errors";
import { attachTree, idmappedTree } from "../sys/idmapMount";
import { umount2 } from "../sys/libc";
import { mountOverlay } from "../sys/overlayMount";
import { overlayRootPath } from "./rootOverlay";
import { hostIdOf, type IdMapping } from "./specUserNamespace";
import { openUserNamespace } from "../ns/userNamespaceFd";
import { isMountPoint } from "../ns/pin";

/** What the container's root is made of: image layers (topmost first) or one rootfs directory. */
export type RootSource = { layers: readonly string[] } | { rootDir: string };

/** Mounts the container's ID-mapped root at <dir>/rootfs (a no-op when it is mounted); returns that path. */
export async function mountIdmappedRoot(dir: string, source: RootSource, uid: readonly IdMapping[], gid: readonly IdMapping[]): Promise<string> {
  const root = overlayRootPath(dir);
  if (isMountPoint(root)) return root;
  mkdirSync(root, { recursive: true, mode: 0o755 });
  const userns = await openUserNamespace(uid, gid);
  try {
    if ("rootDir" in source) {
      attachTree(idmappedTree(source.rootDir, userns, "rootfs", true), root);
      return root;
    }
    mountLayers(dir, source.layers, userns, root, uid, gid);
    return root;
  } finally {
    closeSync(userns);
  }
}

function mountLayers(dir: string, layers: readonly string[], userns: number, root: string, uid: readonly IdMapping[], gid: readonly IdMapping[]): void {
  for (const d of ["upper", "work"]) mkdirSync(join(dir, d), { recursive: true, mode: 0o755 });
  const rootUid = hostIdOf(uid, 0);
  const rootGid = hostIdOf(gid, 0);
  if (rootUid === undefined || rootGid === undefined) throw new ValidationError("linux.uidMappings", "does not map the container's root (id 0)", "map containerID 0 in both uid and gid mappings");
  chownSync(join(dir, "upper"), rootUid, rootGid);
  const staging = join(dir, "idmap");
  const made: string[] = [];
  const mounted: string[] = [];
  const stage = (source: string, name: string, field: string): string => {
    const at = join(staging, name);
    mkdirSync(at, { recursive: true, mode: 0o700 });
    made.push(at);
    attachTree(idmappedTree(source, userns, field), at);
    mounted.push(at);
    return at;
  };
  let failed = true;
  try {
    const lower = layers.map((l, i) => stage(l, String(i), `rootLayers[${i}]`));
    mountOverlay({ lowerDirs: lower, upperDir: join(dir, "upper"), workDir: join(dir, "work") }, root);
    failed = false;
  } finally {
    // The overlay keeps private clones of its layers' mounts: the staged ones are no longer needed.
    try {
      for (const at of mounted.reverse()) umount2(at, MNT_DETACH);
      // One by one, never recursively: a directory still mounted on stops this instead of being emptied.
      for (const at of made) rmdirSync(at);
      if (existsSync(staging)) rmdirSync(staging);
    } catch (err) {
      // After a failure, that failure is what the caller hears of; the container's directory goes with it.
      if (!failed) throw SysError.fromNode(err, `remove the staged layers under ${staging}`);
    }
  }
}

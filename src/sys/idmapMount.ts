// ID-mapped mounts (mount_setattr MOUNT_ATTR_IDMAP, Linux 5.12): a view of a directory in which
// the files' owners are shifted by a user namespace's mapping, so a container whose root is host
// uid 100000 sees a rootfs owned by host uid 0 as its own, and what it writes lands on disk as it
// sees it. Nothing is chowned; containers with different mappings share one copy. Only a detached
// mount (open_tree OPEN_TREE_CLONE) may be given a mapping, and only on filesystems that support
// it (ext4, xfs, btrfs, tmpfs since 6.3; not overlayfs itself, whose layers are mapped instead).
import { closeSync } from "node:fs";
import { checkCall, syscallFunction } from "./ffi";
import { SYS } from "./constants";
import { SysError, ValidationError } from "./errors";

const AT_FDCWD = -100;
const AT_EMPTY_PATH = 0x1000;
const AT_RECURSIVE = 0x8000;
const OPEN_TREE_CLONE = 1;
const OPEN_TREE_CLOEXEC = 0o2000000;
const MOVE_MOUNT_F_EMPTY_PATH = 4;
const MOUNT_ATTR_IDMAP = 0x100000;

/**
 * A detached copy of the mount tree at `path` (recursive: with the mounts below it) whose files
 * are seen through the mapping of the user namespace behind usernsFd. Returns its fd; attach it
 * with attachTree. A filesystem that cannot be ID-mapped is a ValidationError naming `field`.
 */
export function idmappedTree(path: string, usernsFd: number, field: string, recursive = false): number {
  const call = syscallFunction();
  const tree = checkCall(call(SYS.open_tree, "int", AT_FDCWD, "const char *", path, "unsigned int", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0)), "open_tree", path);
  try {
    // struct mount_attr { __u64 attr_set, attr_clr, propagation, userns_fd; }
    const attr = Buffer.alloc(32);
    attr.writeBigUInt64LE(BigInt(MOUNT_ATTR_IDMAP), 0);
    attr.writeBigUInt64LE(BigInt(usernsFd), 24);
    checkCall(call(SYS.mount_setattr, "int", tree, "const char *", "", "unsigned int", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), "void *", attr, "size_t", attr.length), "mount_setattr", path);
    return tree;
  } catch (err) {
    closeSync(tree);
    // EINVAL: the filesystem does not do ID-mapped mounts (or, recursive, one below path does not).
    if (err instanceof SysError && err.code === "EINVAL") {
      throw new ValidationError(field, `'${path}' is on a filesystem that cannot be ID-mapped (mount_setattr MOUNT_ATTR_IDMAP: EINVAL)`, "keep container roots and layers on ext4, xfs or btrfs (tmpfs from Linux 6.3), or run the container with userns \"host\"", { cause: err });
    }
    throw err;
  }
}

/** Attaches a detached tree (idmappedTree) at target, and closes its fd. */
export function attachTree(tree: number, target: string): void {
  try {
    checkCall(syscallFunction()(SYS.move_mount, "int", tree, "const char *", "", "int", AT_FDCWD, "const char *", target, "unsigned int", MOVE_MOUNT_F_EMPTY_PATH), "move_mount", target);
  } finally {
    closeSync(tree);
  }
}

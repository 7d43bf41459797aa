// mount_setattr(2) (Linux 5.12): mount flags changed on a mount and, with AT_RECURSIVE, on every
// mount below it at once. mount(2)'s MS_REMOUNT changes one mount only, so an OCI "rro" (a bind of
// a tree kept read-only all the way down) needs this call.
import { checkCall, syscallFunction } from "./ffi";
import { SYS } from "./constants";

export {
  MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC, MOUNT_ATTR__ATIME, MOUNT_ATTR_RELATIME, MOUNT_ATTR_NOATIME,
  MOUNT_ATTR_STRICTATIME, MOUNT_ATTR_NODIRATIME, MOUNT_ATTR_NOSYMFOLLOW,
} from "./constants";


const AT_FDCWD = -100;
const AT_RECURSIVE = 0x8000;

/** Sets and clears MOUNT_ATTR_* flags on the mount at `path` and every mount below it. */
export function setMountAttrRecursive(path: string, set: number, clear: number): void {
  // struct mount_attr { __u64 attr_set, attr_clr, propagation, userns_fd; }
  const attr = Buffer.alloc(32);
  attr.writeBigUInt64LE(BigInt(set), 0);
  attr.writeBigUInt64LE(BigInt(clear), 8);
  checkCall(syscallFunction()(SYS.mount_setattr, "int", AT_FDCWD, "const char *", path, "unsigned int", AT_RECURSIVE, "void *", attr, "size_t", attr.length), "mount_setattr", path);
}

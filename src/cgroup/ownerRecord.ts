// The owner of a cgroup, kept as an extended attribute of its directories. trusted.* because
// cgroupfs (kernfs) supports it on v1 and v2 hierarchies alike on every kernel hostform runs on
// (user.* only came to cgroup2 in 5.7), and only CAP_SYS_ADMIN can set it, so the owner of a
// delegated subtree cannot forge one. kernfs keeps the attribute with the directory: it goes away
// with the cgroup, so a record never outlives the object it describes.
import { formatOwner, parseOwner, type Owner } from "../sys/owner";
import { getXattr, setXattr } from "../sys/xattr";

const OWNER_XATTR = "trusted.hostform.owner";

/** The owner recorded on the first of `dirs` that has one; undefined when none has. */
export function readOwnerRecord(dirs: readonly string[]): Owner | undefined {
  for (const dir of dirs) {
    const text = getXattr(dir, OWNER_XATTR);
    if (text !== undefined) return parseOwner(text);
  }
  return undefined;
}

/** Records `owner` on every one of `dirs` (each hierarchy, so a partly lost cgroup still says whose it is). */
export function writeOwnerRecord(dirs: readonly string[], owner: Owner): void {
  for (const dir of dirs) setXattr(dir, OWNER_XATTR, formatOwner(owner));
}

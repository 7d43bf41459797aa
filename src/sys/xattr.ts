// Extended attributes of a path (lgetxattr/lsetxattr/llistxattr; Node has no API for them). hostform
// keeps small records beside kernel objects that cannot hold one themselves, in trusted.* attributes,
// which only CAP_SYS_ADMIN can read or write: the owner of a cgroup directory, the device filter
// attached to a cgroup v2 directory.
import { checkCall, libc } from "./ffi";
import { SysError } from "./errors";

type Fn = (...args: unknown[]) => number;

let fns: { get: Fn; set: Fn; list: Fn } | undefined;

function b(): { get: Fn; set: Fn; list: Fn } {
  fns ??= {
    list: libc().func("long llistxattr(const char *path, _Out_ uint8_t *list, size_t size)") as Fn,
    get: libc().func("long lgetxattr(const char *path, const char *name, _Out_ uint8_t *value, size_t size)") as Fn,
    set: libc().func("int lsetxattr(const char *path, const char *name, const uint8_t *value, size_t size, int flags)") as Fn,
  };
  return fns;
}

const ENODATA = 61;

/** The attribute's value, or undefined when the path has no such attribute. */
export function getXattr(path: string, name: string): Buffer | undefined {
  for (let size = 4096; ; size *= 4) {
    const buf = Buffer.alloc(size);
    try {
      const n = checkCall(b().get(path, name, buf, size), "lgetxattr", `${path} (${name})`);
      return buf.subarray(0, n);
    } catch (err) {
      if (err instanceof SysError && err.errno === ENODATA) return undefined;
      if (err instanceof SysError && err.code === "ERANGE" && size < 1 << 20) continue;
      throw err;
    }
  }
}

/** Sets the attribute (created or replaced); a string is stored as UTF-8. */
export function setXattr(path: string, name: string, value: Buffer | string): void {
  const buf = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  checkCall(b().set(path, name, buf, buf.length, 0), "lsetxattr", `${path} (${name})`);
}

/** Names of the path's attributes (the link itself for a symlink), in the order the filesystem lists them. */
export function listXattrs(path: string): string[] {
  for (let size = 4096; ; size *= 4) {
    const buf = Buffer.alloc(size);
    try {
      const n = checkCall(b().list(path, buf, size), "llistxattr", path);
      return buf.subarray(0, n).toString("utf8").split("\0").filter((s) => s !== "");
    } catch (err) {
      if (err instanceof SysError && err.code === "ERANGE" && size < 1 << 20) continue;
      throw err;
    }
  }
}

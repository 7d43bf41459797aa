// Extended attributes of a file or directory (getxattr/setxattr/removexattr), through libc. hostform
// keeps a small record beside a kernel object that cannot hold one itself (the device filter attached
// to a cgroup v2 directory) in a trusted.* attribute, which only CAP_SYS_ADMIN can read or write.
import { checkCall, libc } from "./ffi";
import { SysError } from "./errors";

type Fn = (...args: unknown[]) => number;
let fns: { get: Fn; set: Fn; remove: Fn } | undefined;

function b(): { get: Fn; set: Fn; remove: Fn } {
  fns ??= {
    get: libc().func("long getxattr(const char *path, const char *name, _Out_ uint8_t *value, size_t size)") as Fn,
    set: libc().func("int setxattr(const char *path, const char *name, const uint8_t *value, size_t size, int flags)") as Fn,
    remove: libc().func("int removexattr(const char *path, const char *name)") as Fn,
  };
  return fns;
}

const ENODATA = 61;

/** The attribute's value, or undefined when the file has no such attribute. */
export function getXattr(path: string, name: string): Buffer | undefined {
  for (let size = 4096; ; size *= 4) {
    const buf = Buffer.alloc(size);
    try {
      const n = checkCall(b().get(path, name, buf, size), "getxattr", `${path} (${name})`);
      return buf.subarray(0, n);
    } catch (err) {
      if (err instanceof SysError && err.errno === ENODATA) return undefined;
      if (err instanceof SysError && err.code === "ERANGE" && size < 1 << 20) continue;
      throw err;
    }
  }
}

export function setXattr(path: string, name: string, value: Buffer): void {
  checkCall(b().set(path, name, value, value.length, 0), "setxattr", `${path} (${name})`);
}

/** Removes the attribute; one that is not there is no error. */
export function removeXattr(path: string, name: string): void {
  try {
    checkCall(b().remove(path, name), "removexattr", `${path} (${name})`);
  } catch (err) {
    if (!(err instanceof SysError && err.errno === ENODATA)) throw err;
  }
}

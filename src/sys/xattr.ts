// Extended attributes of a path (lsetxattr/lgetxattr); Node has no API for them.
import { checkCall, lastErrno, libc } from "./ffi";
import { errnoNumber, SysError } from "./errors";

type Fn = (...args: unknown[]) => number;
let fns: { set: Fn; get: Fn } | undefined;

function bound(): { set: Fn; get: Fn } {
  fns ??= {
    set: libc().func("int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)") as Fn,
    get: libc().func("long lgetxattr(const char *path, const char *name, _Out_ void *value, size_t size)") as Fn,
  };
  return fns;
}

/** Sets attribute `name` of `path` to `value` (created or replaced). */
export function setXattr(path: string, name: string, value: string): void {
  const buf = Buffer.from(value, "utf8");
  checkCall(bound().set(path, name, buf, buf.length, 0), `lsetxattr ${name}`, path);
}

/** The attribute's value; undefined when the path has no such attribute. */
export function getXattr(path: string, name: string, maxBytes = 4096): string | undefined {
  const buf = Buffer.alloc(maxBytes);
  const n = Number(bound().get(path, name, buf, buf.length));
  if (n < 0) {
    const errno = lastErrno();
    if (errno === errnoNumber("ENODATA")) return undefined;
    throw new SysError(`lgetxattr ${name}`, errno, path);
  }
  return buf.subarray(0, n).toString("utf8");
}

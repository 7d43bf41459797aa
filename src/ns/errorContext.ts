import { SysError } from "../sys/errors";

/**
 * Returns err with context prefixed ("pin net namespace of web at ...: mount ...: EINVAL"),
 * keeping errno, syscall and path. Node fs errors become SysErrors; other errors pass unchanged.
 */
export function withContext(err: unknown, context: string): unknown {
  if (err instanceof SysError) return new SysError(err.syscall, err.errno, err.path, context);
  return SysError.fromNode(err, context);
}

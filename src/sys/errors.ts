import { constants } from "node:os";

const errnoNames: Map<number, string> = new Map();
for (const [name, value] of Object.entries(constants.errno)) {
  // EAGAIN/EWOULDBLOCK and EDEADLK/EDEADLOCK share numbers; keep the first (canonical) name.
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}

/** Symbolic name of an errno value ("ENOENT"), or "E<n>" when the platform table lacks it. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** Number of a symbolic errno name, for comparisons that read better by name. */
export function errnoNumber(name: keyof typeof constants.errno): number {
  return constants.errno[name];
}

/** Base class of every error hostform raises on purpose; anything else is a bug. */
export class HostformError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A failed system call or kernel file operation. Carries what runc and crun print:
 * the call, the object it acted on and the kernel's errno.
 */
export class SysError extends HostformError {
  readonly errno: number;
  readonly code: string;
  readonly syscall: string;
  readonly path?: string;

  constructor(syscall: string, errno: number, path?: string, context?: string) {
    const code = errnoName(errno);
    const where = path !== undefined ? ` ${path}` : "";
    const prefix = context !== undefined ? `${context}: ` : "";
    super(`${prefix}${syscall}${where}: ${code} (${describeErrno(errno)})`);
    this.errno = errno;
    this.code = code;
    this.syscall = syscall;
    if (path !== undefined) this.path = path;
  }

  /** Wraps a Node fs error (which carries errno/syscall/path) into a SysError with context. */
  static fromNode(err: unknown, context?: string): SysError | unknown {
    if (err instanceof SysError) return err;
    if (isErrnoException(err) && typeof err.errno === "number") {
      // Node reports errno negated (libuv convention).
      const e = new SysError(err.syscall ?? "fs", Math.abs(err.errno), err.path, context);
      return e;
    }
    return err;
  }
}

/** Input that cannot be used, named by the field that holds it and the fix. */
export class ValidationError extends HostformError {
  readonly field: string;
  readonly hint?: string;

  constructor(field: string, problem: string, hint?: string) {
    super(`${field}: ${problem}${hint !== undefined ? ` (${hint})` : ""}`);
    this.field = field;
    if (hint !== undefined) this.hint = hint;
  }
}

/** The host cannot do what was asked (missing controller, kernel feature, binary). */
export class UnsupportedError extends HostformError {}

export function isErrnoException(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && ("errno" in err || "code" in err);
}

/** True when err is a SysError or Node fs error with the given errno name. */
export function hasCode(err: unknown, code: string): boolean {
  return (err instanceof SysError && err.code === code) || (isErrnoException(err) && err.code === code);
}

const descriptions: Record<string, string> = {
  EPERM: "operation not permitted",
  ENOENT: "no such file or directory",
  ESRCH: "no such process",
  EINTR: "interrupted system call",
  EIO: "input/output error",
  EBADF: "bad file descriptor",
  EAGAIN: "resource temporarily unavailable",
  ENOMEM: "cannot allocate memory",
  EACCES: "permission denied",
  EFAULT: "bad address",
  EBUSY: "device or resource busy",
  EEXIST: "file exists",
  EXDEV: "invalid cross-device link",
  ENODEV: "no such device",
  ENOTDIR: "not a directory",
  EISDIR: "is a directory",
  EINVAL: "invalid argument",
  ENOSPC: "no space left on device",
  EROFS: "read-only file system",
  ENOSYS: "function not implemented",
  ENOTEMPTY: "directory not empty",
  EOPNOTSUPP: "operation not supported",
  ECHILD: "no child processes",
  E2BIG: "argument list too long",
  ERANGE: "numerical result out of range",
};

function describeErrno(errno: number): string {
  return descriptions[errnoName(errno)] ?? "system error";
}

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

  /**
   * The same error (same class, same fields) with context in front of its message, as crun's
   * layers do ("create cgroup web: write /sys/...: EBUSY"). The original stays reachable as cause.
   */
  withContext(context: string): this {
    return this.restated(`${context}: ${this.message}`);
  }

  /** The same error (class and fields) with another message; the original is its cause. */
  protected restated(message: string): this {
    const copy = Object.create(Object.getPrototypeOf(this) as object) as this;
    Object.assign(copy, this);
    Object.defineProperty(copy, "message", { value: message, writable: true, configurable: true });
    Object.defineProperty(copy, "cause", { value: this, writable: true, configurable: true });
    const frames = this.stack?.split("\n").slice(1).join("\n") ?? "";
    Object.defineProperty(copy, "stack", { value: `${this.name}: ${message}\n${frames}`, writable: true, configurable: true });
    return copy;
  }

  /** The same error, saying that the cleanup after it failed too (so something may be left behind). */
  withCleanupFailure(what: string, cleanupError: unknown): this {
    const copy = this.restated(`${this.message}; ${what} failed too, so something may be left behind: ${cleanupError instanceof Error ? cleanupError.message : String(cleanupError)}`);
    Object.defineProperty(copy, "cleanupError", { value: cleanupError, writable: true, configurable: true });
    return copy;
  }
}

/**
 * Runs the undo of a failed operation and returns the operation's error to throw: unchanged when the
 * undo worked, else with the undo's failure noted (never silently dropped).
 */
export async function afterUndo(err: unknown, what: string, undo: () => Promise<unknown> | unknown): Promise<unknown> {
  try {
    await undo();
    return err;
  } catch (cleanupError) {
    const base = err instanceof HostformError ? err : withContext(err, "failed");
    return base.withCleanupFailure(what, cleanupError);
  }
}

/**
 * Adds context to any failure: a HostformError keeps its class and fields, a Node system error
 * becomes a SysError, anything else is wrapped (cause = the original).
 */
export function withContext(err: unknown, context: string): HostformError {
  if (err instanceof HostformError) return err.withContext(context);
  if (isErrnoException(err) && typeof err.errno === "number") return SysError.fromNode(err, context);
  const message = err instanceof Error ? err.message : String(err);
  return new HostformError(`${context}: ${message}`, { cause: err });
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

  constructor(syscall: string, errno: number, path?: string, context?: string, options?: { cause?: unknown }) {
    const code = errnoName(errno);
    const where = path !== undefined ? ` ${path}` : "";
    const prefix = context !== undefined ? `${context}: ` : "";
    super(`${prefix}${syscall}${where}: ${code} (${describeErrno(errno)})`, options);
    this.errno = errno;
    this.code = code;
    this.syscall = syscall;
    if (path !== undefined) this.path = path;
  }

  /**
   * A Node system error (which carries errno/syscall/path) as a SysError with context; a
   * HostformError gets the context added (withContext); anything else is returned as it is.
   */
  static fromNode(err: unknown, context?: string): SysError;
  static fromNode(err: unknown, context?: string): unknown;
  static fromNode(err: unknown, context?: string): unknown {
    if (err instanceof HostformError) return context === undefined ? err : err.withContext(context);
    if (isErrnoException(err) && typeof err.errno === "number") {
      // Node reports errno negated (libuv convention).
      return new SysError(err.syscall ?? "fs", Math.abs(err.errno), err.path, context, { cause: err });
    }
    return err;
  }
}

/** Input that cannot be used, named by the field that holds it and the fix. */
export class ValidationError extends HostformError {
  readonly field: string;
  readonly problem: string;
  readonly hint?: string;

  constructor(field: string, problem: string, hint?: string, options?: { cause?: unknown }) {
    super(`${field}: ${problem}${hint !== undefined ? ` (${hint})` : ""}`, options);
    this.field = field;
    this.problem = problem;
    if (hint !== undefined) this.hint = hint;
  }

  /** The same problem under another field name (a spec field reported as the resource's property). */
  renamed(field: string, suffix = ""): ValidationError {
    const e = new ValidationError(field, `${this.problem}${suffix}`, this.hint);
    Object.defineProperty(e, "cause", { value: this, writable: true, configurable: true });
    return e;
  }
}

/** The host cannot do what was asked (missing controller, kernel feature, binary). */
export class UnsupportedError extends HostformError {}

/** A named object that does not exist (a container, a cgroup, a namespace set). */
export class NotFoundError extends HostformError {
  constructor(
    readonly kind: string,
    readonly id: string,
    readonly hint?: string,
  ) {
    super(`${kind} ${id} does not exist${hint !== undefined ? ` (${hint})` : ""}`);
  }
}

/** Something hostform waited for did not happen in time; detail says what was still in the way. */
export class TimeoutError extends HostformError {
  constructor(
    readonly what: string,
    readonly ms: number,
    detail?: string,
  ) {
    super(`${what}: not done after ${ms} ms${detail !== undefined ? `: ${detail}` : ""}`);
  }
}

/** A file (state, metadata, kernel output) whose content is not what its writer writes. */
export class CorruptFileError extends HostformError {
  constructor(
    readonly path: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${problem}`, options);
  }
}

/** An error as it crosses a process boundary (the supervisor's socket, an init's pipe). */
export interface WireError {
  name: string;
  message: string;
  /** The error's own fields (errno, syscall, path, field, hint, ...). */
  fields?: Record<string, unknown>;
  cause?: WireError;
}

type ErrorClass = { readonly prototype: HostformError; readonly name: string };
const errorClasses = new Map<string, ErrorClass>();

/** Lets errorFromWire rebuild instances of cls (by class name) on the other side of a socket. */
export function registerErrorClass(cls: ErrorClass): void {
  errorClasses.set(cls.name, cls);
}

/** The wire form of err: class name, message, own fields and cause chain. */
export function errorToWire(err: unknown): WireError {
  if (!(err instanceof Error)) return { name: "Error", message: String(err) };
  const out: WireError = { name: err.name, message: err.message };
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(err)) if (k !== "name" && (v === null || ["string", "number", "boolean"].includes(typeof v))) fields[k] = v;
  if (Object.keys(fields).length > 0) out.fields = fields;
  if (err.cause !== undefined) out.cause = errorToWire(err.cause);
  return out;
}

/**
 * Rebuilds the typed error of a WireError: the same class (when registered here), message, fields
 * and cause, so `instanceof` and `hasCode` work on the client as they did in the server.
 */
export function errorFromWire(w: WireError): HostformError {
  const cls = errorClasses.get(w.name) ?? HostformError;
  const err = Object.create(cls.prototype) as HostformError;
  Object.assign(err, w.fields ?? {});
  Object.defineProperty(err, "name", { value: w.name, writable: true, configurable: true, enumerable: true });
  Object.defineProperty(err, "message", { value: w.message, writable: true, configurable: true });
  Object.defineProperty(err, "stack", { value: `${w.name}: ${w.message}\n    (from another process)`, writable: true, configurable: true });
  if (w.cause !== undefined) Object.defineProperty(err, "cause", { value: errorFromWire(w.cause), writable: true, configurable: true });
  return err;
}

for (const cls of [HostformError, SysError, ValidationError, UnsupportedError, NotFoundError, TimeoutError, CorruptFileError]) registerErrorClass(cls);

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

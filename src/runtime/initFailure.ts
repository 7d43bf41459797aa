// What an init's "error" message becomes on the launcher's side: the typed error the init threw,
// rebuilt from its wire form. A bad spec stays a ValidationError naming its field; anything else
// becomes a ContainerStartError that says which setup step failed and keeps the errno, syscall and
// path of the failed call (the rebuilt error is its cause).
import { HostformError, ValidationError, errorFromWire, registerErrorClass } from "../sys/errors";
import type { InitFailure } from "./initProtocol";

/** The container init failed before exec; carries what failed where. */
export class ContainerStartError extends HostformError {
  readonly step: string;
  readonly syscall?: string;
  readonly errno?: number;
  readonly path?: string;

  constructor(f: InitFailure) {
    super(`container init: ${f.message}`, f.error !== undefined ? { cause: errorFromWire(f.error) } : undefined);
    this.step = f.step;
    if (f.syscall !== undefined) this.syscall = f.syscall;
    if (f.errno !== undefined) this.errno = f.errno;
    if (f.path !== undefined) this.path = f.path;
  }
}
registerErrorClass(ContainerStartError);

/**
 * The error to throw for an init's failure report. `context` is added to a ContainerStartError's
 * step and message (an exec init's failures read "exec: <step>: ...").
 */
export function errorOfFailure(f: InitFailure, context?: string): HostformError {
  if (f.field !== undefined) {
    const cause = f.error !== undefined ? errorFromWire(f.error) : undefined;
    return cause instanceof ValidationError ? cause : new ValidationError(f.field, f.message);
  }
  return new ContainerStartError(context === undefined ? f : { ...f, step: `${context}: ${f.step}`, message: `${context}: ${f.message}` });
}

// How a setup failure travels to the launcher: each step adds its name as context to the error
// (a SysError keeps its errno, syscall and path; a ValidationError its field), and failure() turns
// that into the "error" message, the typed error included in its wire form.
import { HostformError, SysError, ValidationError, errorToWire, withContext } from "../../sys/errors";
import type { InitFailure } from "../initProtocol";

/** A setup step that failed: its name, and the error with the step as context (cause = the original). */
export class StepError extends HostformError {
  constructor(
    readonly step: string,
    readonly error: HostformError,
  ) {
    super(error.message, { cause: error });
  }
}

/** Runs one named setup step; a failure comes out as a StepError naming it (the innermost step wins). */
export function step<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof StepError) throw err;
    throw new StepError(name, withContext(err, name));
  }
}

/** The "error" message for a failure of the init: its step ("init" outside any) and its typed error. */
export function failure(err: unknown): InitFailure {
  const stepName = err instanceof StepError ? err.step : "init";
  const error = err instanceof StepError ? err.error : withContext(err, "init");
  const out: InitFailure = { kind: "error", step: stepName, message: error.message, error: errorToWire(error) };
  if (error instanceof SysError) {
    out.syscall = error.syscall;
    out.errno = error.errno;
    if (error.path !== undefined) out.path = error.path;
  }
  if (error instanceof ValidationError) out.field = error.field;
  return out;
}

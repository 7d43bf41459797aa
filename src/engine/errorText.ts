import { HostformError, isErrnoException } from "../sys/errors";

/** How deep a cause chain is followed (a chain is short; a cycle must not hang the display). */
const MAX_CAUSES = 8;

/**
 * The text a person sees for an error. A hostform error shows its message followed by the messages
 * of its causes that it does not already contain, so context added on the way up never hides what
 * went wrong below. Anything else is a bug and shows its stack.
 */
export function describeError(err: unknown): string {
  if (!(err instanceof HostformError)) return (err as Error | undefined)?.stack ?? String(err);
  let text = err.message;
  let cause: unknown = err.cause;
  for (let depth = 0; cause !== undefined && depth < MAX_CAUSES; depth++) {
    const message = cause instanceof Error ? cause.message : String(cause);
    // A Node system error below a SysError says again what the SysError already names (the call
    // and errno code), only less precisely.
    const restated = isErrnoException(cause) && cause.code !== undefined && text.includes(cause.code);
    if (!text.includes(message) && !restated) text += `: ${message}`;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return text;
}

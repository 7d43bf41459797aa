/**
 * Whether the error, or any error in its `cause` chain, is a T: a typed error still counts when a
 * caller wraps it to add context.
 */
export function causedBy<T>(e: unknown, type: abstract new (...args: never[]) => T): boolean {
  for (let cur: unknown = e; cur instanceof Error; cur = cur.cause) if (cur instanceof type) return true;
  return false;
}

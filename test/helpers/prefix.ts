import { randomBytes } from "node:crypto";

/**
 * A name no other test run can produce: every kernel object a test makes carries it, so cleanup
 * can never touch something the test did not create, and leftovers are easy to attribute.
 */
export function testPrefix(what: string): string {
  return `hostform-test-${what}-${process.pid}-${randomBytes(3).toString("hex")}`;
}

/** Kernel tests need root; the reason is printed instead of a silent pass. */
export const needsRoot: string | false = process.getuid?.() === 0 ? false : "needs root (real cgroupfs and namespaces)";

// The owner a test's provider calls carry, as the resource classes pass one (providers/owner.ts).
import type { Owner } from "../../src/sys/owner";

/** The owner of test resource `resource` in the test "stack" `stack`. */
export function testOwner(resource: string, stack = "hostform-test/providers"): Owner {
  return { stack, resource: `hostform:Test::${resource}` };
}

// The owner every hostform resource passes to its provider in a hidden input, so that whatever the
// provider makes on the host records which stack and resource it belongs to. Built in the program
// from the stack and the resource's type and name: the same on every run (no diff), under the
// hostform engine and the Pulumi CLI alike.
import * as pulumi from "@pulumi/pulumi";
import type { Owner } from "../src/sys/owner";

export { OWNER_KEY } from "./ownerKey";

/** The owner of the resource `name` of type `type` ("Container") in the running stack. */
export function ownerInput(type: string, name: string): Owner {
  return { stack: `${pulumi.getProject()}/${pulumi.getStack()}`, resource: `hostform:${type}::${name}` };
}

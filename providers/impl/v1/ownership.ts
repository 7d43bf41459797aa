// The owner a resource's inputs carry (providers/owner.ts), as the providers check and record it.
import { asOwner, describeOwner, sameOwner, type Owner } from "../../../src/sys/owner";
import type { NamedInputs } from "./autoname";

/** The owner in the inputs; undefined when they carry none (state written before owners existed). */
export function ownerOf(inputs: NamedInputs | undefined): Owner | undefined {
  return asOwner(inputs?.__owner);
}

/**
 * Whether Read was asked to import `id`: the engine reads an object it has no outputs for (only the
 * declared inputs, which the dynamic provider host hands over in their place). `outputKey` is an
 * output every refresh of the kind carries.
 */
export function isImportRead(props: object | undefined, outputKey: string): boolean {
  return props !== undefined && !(outputKey in props);
}

/**
 * Says so when an import takes over an object another stack or resource has on record: that stack's
 * state may still list it, and a destroy there would remove what this stack now manages. A
 * provider's "warning:" line on stdout is what the engine shows as a warning.
 */
export function warnTakeover(kind: string, id: string, previous: Owner | undefined, owner: Owner): void {
  if (previous === undefined || sameOwner(previous, owner)) return;
  console.log(`warning: ${kind} ${id} belonged to ${describeOwner(previous)} and now belongs to ${describeOwner(owner)}; if stack ${previous.stack} still lists it, a destroy there would remove it`);
}

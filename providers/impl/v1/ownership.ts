// The owner a resource's inputs carry (providers/owner.ts), as the providers check and record it.
import { asOwner, type Owner } from "../../../src/sys/owner";
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

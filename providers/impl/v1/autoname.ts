// Names of host objects, chosen in check like Pulumi's autonaming: the resource name plus a random
// suffix unless the user pins one, kept across updates by reading it back from the old inputs.
import { randomBytes } from "node:crypto";
import type { Owner } from "../../../src/sys/owner";

/** The naming inputs every named hostform resource carries. */
export interface NamedInputs {
  /** The Pulumi resource name, passed by the resource class (the basis of the generated name). */
  resourceName?: string;
  /** The host object's name: pinned by the user, or generated in check. */
  name?: string;
  /** True when `name` was generated (not pinned). */
  autonamed?: boolean;
  /** Stack and resource that own the host object (providers/owner.ts); absent in state written before owners existed. */
  __owner?: Owner;
}

/** Characters every hostform name allows (namespace set names are the strictest). */
function sanitize(base: string): string {
  const s = base.replace(/[^A-Za-z0-9_.-]/g, "-").replace(/^[^A-Za-z0-9]+/, "");
  return (s === "" ? "hostform" : s).slice(0, 100);
}

/**
 * Fills in `name` and `autonamed`: a pinned name is kept as given; an autoname is reused from the
 * old inputs while the resource name is the same, else generated as "<resourceName>-<8 hex>".
 */
export function chooseName<T extends NamedInputs>(olds: NamedInputs | undefined, news: T): T & { name: string; autonamed: boolean } {
  if (typeof news.name === "string" && news.autonamed !== true) return { ...news, name: news.name, autonamed: false };
  if (olds?.autonamed === true && typeof olds.name === "string" && olds.resourceName === news.resourceName) {
    return { ...news, name: olds.name, autonamed: true };
  }
  return { ...news, name: `${sanitize(news.resourceName ?? "hostform")}-${randomBytes(4).toString("hex")}`, autonamed: true };
}

/**
 * Whether a replacement must delete the old object first: when the new object would get the same
 * name, creating it first would adopt the old one and the deletion that follows would remove it.
 * (A pinned name always does; an autoname does when the engine keeps it for the replacement.)
 */
export function mustDeleteBeforeReplace(oldName: unknown, newName: unknown): boolean {
  return oldName === newName;
}

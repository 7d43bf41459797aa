/** Type token of the root component every Pulumi program registers first. */
export const STACK_TYPE = "pulumi:pulumi:Stack";
/** Type of the default provider that owns dynamic resources in Pulumi's state. */
export const NODEJS_PROVIDER_TYPE = "pulumi:providers:pulumi-nodejs";

/**
 * urn:pulumi:<stack>::<project>::<qualified type>::<name>; the qualified type chains parent types
 * with '$' except the stack's, as Pulumi's resource.NewURN does.
 */
export function makeUrn(stack: string, project: string, parentType: string, type: string, name: string): string {
  const qualified = parentType === "" ? type : `${parentType}$${type}`;
  return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

/** The resource's own type (last segment of the qualified type). */
export function typeOfUrn(urn: string): string {
  const qualified = urn.split("::")[2] ?? "";
  const parts = qualified.split("$");
  return parts[parts.length - 1] ?? "";
}

/** The resource name (everything after the fourth "::"; names may themselves contain "::"). */
export function nameOfUrn(urn: string): string {
  return urn.split("::").slice(3).join("::");
}

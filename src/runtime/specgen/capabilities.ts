// A declaration's capabilities: Docker's 14 defaults, minus drop, plus add, as the bounding,
// effective and permitted sets ("ALL" in either list means every capability).
import { CAPABILITIES, DOCKER_DEFAULT_CAPABILITIES } from "../../sys/constants";
import { ValidationError } from "../../sys/errors";
import type { CapabilitiesSpec } from "../spec";
import type { ContainerCapabilities } from "./config";

function capName(raw: unknown, field: string): string {
  if (typeof raw !== "string") throw new ValidationError(field, "must be a capability name", "use names such as NET_ADMIN or CAP_NET_ADMIN, or ALL");
  const up = raw.trim().toUpperCase();
  const name = up.startsWith("CAP_") ? up : `CAP_${up}`;
  if (CAPABILITIES[name] === undefined) throw new ValidationError(field, `unknown capability '${raw}'`, "use names such as NET_ADMIN or CAP_NET_ADMIN, or ALL");
  return name;
}

function isAll(x: unknown): boolean {
  return typeof x === "string" && x.trim().toUpperCase() === "ALL";
}

/** The capability names the container has, in the kernel's order. */
export function effectiveCapabilities(caps: ContainerCapabilities | undefined, field = "capabilities"): string[] {
  const all = Object.keys(CAPABILITIES);
  const drop: unknown = caps?.drop ?? [];
  const add: unknown = caps?.add ?? [];
  if (!Array.isArray(drop)) throw new ValidationError(`${field}.drop`, "must be a list of capability names");
  if (!Array.isArray(add)) throw new ValidationError(`${field}.add`, "must be a list of capability names");
  const dropped = drop.some(isAll) ? new Set(all) : new Set(drop.map((c, i) => capName(c, `${field}.drop[${i}]`)));
  const added = add.some(isAll) ? all : add.map((c, i) => capName(c, `${field}.add[${i}]`));
  const out = new Set(DOCKER_DEFAULT_CAPABILITIES.filter((c) => !dropped.has(c)));
  for (const c of added) out.add(c);
  return all.filter((c) => out.has(c));
}

/** The spec's capability sets for a declaration (none inheritable or ambient, as Docker). */
export function capabilitiesSpec(caps: ContainerCapabilities | undefined, field = "capabilities"): CapabilitiesSpec {
  const names = effectiveCapabilities(caps, field);
  return { bounding: names, effective: [...names], permitted: [...names] };
}

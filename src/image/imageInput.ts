// The Image resource's inputs, checked before anything runs: every problem names its field.
import { ValidationError } from "../sys/errors";
import { type ImageAuth, validateAuth } from "./auth";
import { parsePlatform } from "./platform";
import { parseRef } from "./ref";

export type PullPolicy = "missing" | "always";

export interface ImageInput {
  ref: string;
  /** "os/architecture[/variant]"; default: the host's. */
  platform?: string;
  /** "missing" (default): no network when the store has the ref's image; "always": re-resolve, pull when it moved. */
  pullPolicy?: PullPolicy;
  auth?: ImageAuth;
  /** Default true: HTTPS with verified certificates. */
  tlsVerify?: boolean;
}

const FIELDS = ["ref", "platform", "pullPolicy", "auth", "tlsVerify"];

/** Checks raw inputs (as a provider's check receives them) and returns them typed; throws ValidationError naming the field. */
export function validateImageInput(raw: object): ImageInput {
  const r = raw as Record<string, unknown>;
  const unknown = Object.keys(r).filter((k) => !FIELDS.includes(k) && r[k] !== undefined);
  if (unknown.length > 0) throw new ValidationError(unknown[0] as string, "is not an Image input", `the inputs are ${FIELDS.join(", ")}`);
  if (typeof r.ref !== "string") throw new ValidationError("ref", "is required and must be a string", 'for example "docker.io/library/busybox:1.36" or "oci-archive:/path/img.tar"');
  const ref = parseRef(r.ref);
  const out: ImageInput = { ref: r.ref };
  if (r.platform !== undefined) {
    if (typeof r.platform !== "string") throw new ValidationError("platform", "must be a string like \"linux/amd64\"");
    parsePlatform(r.platform);
    out.platform = r.platform;
  }
  if (r.pullPolicy !== undefined) {
    if (r.pullPolicy !== "missing" && r.pullPolicy !== "always") throw new ValidationError("pullPolicy", `${JSON.stringify(r.pullPolicy)} is not a pull policy`, 'use "missing" or "always"');
    out.pullPolicy = r.pullPolicy;
  }
  if (r.tlsVerify !== undefined) {
    if (typeof r.tlsVerify !== "boolean") throw new ValidationError("tlsVerify", "must be true or false");
    out.tlsVerify = r.tlsVerify;
  }
  if (r.auth !== undefined) {
    const auth = validateAuth(r.auth);
    if (ref.transport !== "docker") throw new ValidationError("auth", `is only used with a registry, and ref is an ${ref.transport} ref`, "remove auth");
    out.auth = auth;
  }
  return out;
}

// Which image of a multi-platform index runs here, and whether a single image can: OCI platform
// names (GOOS/GOARCH and the variant, as the image-spec's config and index use them).
import { ValidationError } from "../sys/errors";

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** Node's process.arch → the OCI (Go) architecture name. */
const ARCH: Record<string, string> = {
  x64: "amd64",
  arm64: "arm64",
  arm: "arm",
  ia32: "386",
  ppc64: "ppc64le", // Node on Linux ppc64 is little-endian only
  s390x: "s390x",
  riscv64: "riscv64",
  loong64: "loong64",
  mips: "mips",
  mipsel: "mipsle",
  mips64el: "mips64le",
};

/** The platform of this host, as the images it can run declare it. */
export function hostPlatform(): Platform {
  const architecture = ARCH[process.arch] ?? process.arch;
  const p: Platform = { os: "linux", architecture };
  if (architecture === "arm64") p.variant = "v8";
  if (architecture === "arm") {
    const v = (process.config.variables as { arm_version?: string | number }).arm_version;
    p.variant = `v${v ?? 7}`;
  }
  return p;
}

const PART = /^[a-z0-9_]+$/;

/** "linux/arm64/v8" (os/architecture[/variant]) → Platform; ValidationError(field) when malformed. */
export function parsePlatform(text: string, field = "platform"): Platform {
  const parts = typeof text === "string" ? text.split("/") : [];
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !PART.test(p))) {
    throw new ValidationError(field, `${JSON.stringify(text)} is not os/architecture[/variant]`, 'write for example "linux/amd64" or "linux/arm64/v8"');
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  if (os !== "linux") throw new ValidationError(field, `os "${os}" cannot run here: hostform runs Linux containers`, 'use "linux/<architecture>"');
  const p: Platform = { os, architecture };
  if (variant !== undefined) p.variant = variant;
  return p;
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant !== undefined ? `/${p.variant}` : ""}`;
}

/** The variant an image that names none means (arm64 images are v8 unless they say otherwise). */
function defaultVariant(architecture: string): string | undefined {
  return architecture === "arm64" ? "v8" : undefined;
}

/**
 * Whether an image (its config, or its entry in an index) declared for `have` runs on `want`. A
 * wanted variant must match; an image without a variant fits any variant of its architecture only
 * when the architecture has a default (arm64 → v8), as containers/image decides.
 */
export function platformMatches(want: Platform, have: { os?: string; architecture?: string; variant?: string }): boolean {
  if (have.os !== want.os || have.architecture !== want.architecture) return false;
  if (want.variant === undefined) return true;
  const haveVariant = have.variant ?? defaultVariant(want.architecture);
  return haveVariant === undefined || haveVariant === want.variant;
}

// An image reference as a user writes it (docker's and podman's grammar, plus skopeo's archive and
// layout transports) → its normalised name and the transport string skopeo takes. No I/O: whether
// the image exists is skopeo's answer, later.
import { isAbsolute, normalize } from "node:path";
import { ValidationError } from "../sys/errors";

export type Transport = "docker" | "oci-archive" | "docker-archive" | "oci";

export interface RegistryRef {
  transport: "docker";
  /** Normalised: "docker.io/library/nginx:1.27", "127.0.0.1:5000/hf/bb@sha256:…". */
  name: string;
  /** What skopeo takes: "docker://" + name. */
  skopeo: string;
  /** The registry's host[:port]: the key of its credentials in an auth file. */
  registry: string;
  /** The repository on that registry: "library/nginx". */
  repository: string;
  tag?: string;
  digest?: string;
}

export interface PathRef {
  transport: "oci-archive" | "docker-archive" | "oci";
  /** Normalised: "oci-archive:/abs/img.tar:v1". */
  name: string;
  skopeo: string;
  /** The archive file or layout directory (absolute). */
  path: string;
  /** The tag in an OCI layout or archive, or the name:tag inside a docker-archive. */
  tag?: string;
}

export type ImageRef = RegistryRef | PathRef;

const DOCKER_HUB = "docker.io";
const DEFAULT_TAG = "latest";
const HINT = 'write "registry.example/ns/name:tag", "name@sha256:<64 hex>", "oci-archive:/path.tar[:tag]", "docker-archive:/path.tar" or "oci:/dir[:tag]"';

// The distribution reference grammar (github.com/distribution/reference), written out.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DOMAIN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?$|^\[[0-9A-Fa-f:.]+\](?::[0-9]+)?$/;
const SHA256 = /^sha256:[0-9a-f]{64}$/;
/** An OCI layout tag (image-spec's ref.name grammar, as skopeo's oci transport checks it). */
const OCI_TAG = /^[A-Za-z0-9._:@+-]+(?:\/[A-Za-z0-9._:@+-]+)*$/;

function invalid(problem: string, hint: string = HINT): ValidationError {
  return new ValidationError("ref", problem, hint);
}

/** Parses and normalises a ref; throws ValidationError("ref", …) for anything malformed. */
export function parseRef(raw: string): ImageRef {
  if (typeof raw !== "string" || raw.trim() === "") throw invalid("must be a non-empty string");
  if (raw !== raw.trim() || /\s/.test(raw)) throw invalid(`"${raw}" contains white space`);
  for (const transport of ["oci-archive", "docker-archive", "oci"] as const) {
    if (raw.startsWith(`${transport}:`)) return parsePathRef(transport, raw.slice(transport.length + 1));
  }
  if (raw.startsWith("docker://")) return parseRegistryRef(raw.slice("docker://".length), raw);
  if (/^[a-z][a-z0-9-]*:\/\//.test(raw) || /^(?:dir|containers-storage|docker-daemon|sif|tarball):/.test(raw)) {
    throw invalid(`"${raw}" uses a transport hostform does not support`);
  }
  return parseRegistryRef(raw, raw);
}

/** "[host[:port]/]path[:tag][@sha256:hex]" as docker normalises it. */
function parseRegistryRef(text: string, raw: string): RegistryRef {
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!SHA256.test(digest)) {
      throw invalid(`"${raw}" has digest "${digest}", which is not "sha256:" and 64 lowercase hex digits`, "hostform's store holds sha256 content only");
    }
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(`"${raw}" has tag "${tag}": a tag is 1-128 of [A-Za-z0-9_.-] and starts with a letter, digit or _`);
  }
  if (rest === "") throw invalid(`"${raw}" has no repository name`);
  const parts = rest.split("/");
  let registry = DOCKER_HUB;
  const first = parts[0] as string;
  // docker's rule: the first component is a host when it has a dot or a port, or is localhost.
  if (parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost" || first.startsWith("["))) {
    if (!DOMAIN.test(first)) throw invalid(`"${raw}" has registry "${first}", which is not a host name or address with an optional :port`);
    registry = first;
    parts.shift();
  }
  if (registry === "index.docker.io") registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift("library");
  for (const p of parts) {
    if (!COMPONENT.test(p)) {
      const why = p.toLowerCase() !== p ? "a repository name must be lowercase" : "each path component is lowercase letters and digits, separated by '.', '_', '__' or '-'";
      throw invalid(`"${raw}" has "${p}" in its repository name: ${why}`);
    }
  }
  const repository = parts.join("/");
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  const name = `${registry}/${repository}${tag !== undefined ? `:${tag}` : ""}${digest !== undefined ? `@${digest}` : ""}`;
  const out: RegistryRef = { transport: "docker", name, skopeo: `docker://${name}`, registry, repository };
  if (tag !== undefined) out.tag = tag;
  if (digest !== undefined) out.digest = digest;
  return out;
}

/**
 * "/path[:tag]". skopeo splits such refs at the first ':' after the transport, so a path with a
 * colon in it cannot be written: refuse it here rather than let skopeo read another file.
 */
function parsePathRef(transport: PathRef["transport"], text: string): PathRef {
  const colon = text.indexOf(":");
  const rawPath = colon >= 0 ? text.slice(0, colon) : text;
  const tag = colon >= 0 ? text.slice(colon + 1) : undefined;
  const what = transport === "oci" ? "an OCI layout directory" : "an archive file";
  if (rawPath === "") throw invalid(`"${transport}:${text}" names no path`, `write "${transport}:/absolute/path${transport === "oci" ? "[:tag]" : ".tar[:tag]"}"`);
  if (!isAbsolute(rawPath)) {
    throw invalid(`"${transport}:${text}": ${what} must be given by an absolute path`, "a relative path would be read from the provider's directory, not the program's");
  }
  if (tag !== undefined) {
    if (tag === "") throw invalid(`"${transport}:${text}" ends with ':' but names no tag`, "remove the ':' or write a tag after it");
    if (transport === "docker-archive") {
      // Either a name:tag the archive's manifest lists, or "@<index>" (skopeo's numbered form).
      if (!/^@[0-9]+$/.test(tag)) parseRegistryRef(tag, `${transport}:${text}`);
    } else if (!OCI_TAG.test(tag)) {
      throw invalid(`"${transport}:${text}" has tag "${tag}", which is not an OCI ref name`, "a tag is letters, digits and . _ - : @ + separated by /");
    }
  }
  const path = normalize(rawPath);
  const name = `${transport}:${path}${tag !== undefined ? `:${tag}` : ""}`;
  const out: PathRef = { transport, name, skopeo: name, path };
  if (tag !== undefined) out.tag = tag;
  return out;
}

/** The same registry ref pinned to a digest (a copy then reads exactly what was resolved, even if the tag moves meanwhile). */
export function pinnedSkopeoRef(ref: ImageRef, digest: string): string {
  if (ref.transport !== "docker") return ref.skopeo;
  return `docker://${ref.registry}/${ref.repository}@${digest}`;
}

// The one place hostform runs skopeo. Every call is bounded (--command-timeout, no retries), uses a
// trust policy and temp dir of its own inside the store's tmp/ (never the host's policy.json, never
// /var/tmp, where a failed oci-archive read leaves oci* dirs), and reads no credentials it was not
// given (HOME is the call's private dir). skopeo exits 1 for every failure and says what in one
// `level=fatal msg="…"` line; that text is mapped to the input field the user has to fix.
// Note: skopeo run as root still writes /var/lib/containers/cache/blob-info-cache-v1.boltdb (a
// path fixed in containers/image, a cache only); there is no flag to move it.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HostformError, registerErrorClass, TimeoutError, ValidationError } from "../sys/errors";
import { authFileFor, type ImageAuth } from "./auth";
import { tmpDir } from "./layout";
import { formatPlatform, type Platform } from "./platform";
import type { ImageRef } from "./ref";

/** What skopeo said when it failed: kept as the cause of the error that names the field. */
export class SkopeoError extends HostformError {
  constructor(
    readonly command: string,
    readonly status: number | null,
    /** The fatal message, un-quoted (or the whole stderr when there is none). */
    readonly detail: string,
  ) {
    super(`${command}: ${status === null ? "was killed" : `exited with ${status}`}: ${detail}`);
  }
}
registerErrorClass(SkopeoError);

export interface SkopeoOptions {
  store: string;
  ref: ImageRef;
  platform: Platform;
  tlsVerify: boolean;
  auth?: ImageAuth;
  /** Bounds the whole call (skopeo's own --command-timeout). */
  timeoutMs: number;
}

const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
// Signatures are not checked: the digest pinned in the stack is the trust anchor, as with docker pull by digest.
const POLICY = JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] });

/** `level=fatal msg="…"` → its text, with Go's string quoting undone. */
export function fatalMessage(stderr: string): string | undefined {
  const lines = stderr.split("\n").filter((l) => l.includes("level=fatal"));
  const m = /msg="((?:[^"\\]|\\.)*)"/.exec(lines[lines.length - 1] ?? "");
  if (m === null) return undefined;
  try {
    return JSON.parse(`"${m[1]}"`) as string;
  } catch {
    return (m[1] as string).replace(/\\(.)/g, "$1");
  }
}

function registryOf(ref: ImageRef): string {
  return ref.transport === "docker" ? ref.registry : ref.path;
}

/** The error a user can act on for skopeo's message (§2.5 of the research memo); cause = the SkopeoError. */
export function mapSkopeoFailure(failure: SkopeoError, o: Pick<SkopeoOptions, "ref" | "platform" | "auth" | "timeoutMs">): HostformError {
  // inspect puts `Error parsing image name "<ref>": ` in front of every failure, whatever it was.
  const msg = failure.detail.replace(/^Error parsing image name "(?:[^"\\]|\\.)*": /, "");
  const name = o.ref.name;
  const cause = { cause: failure };
  const where = registryOf(o.ref);
  if (/no image found in (image index|manifest list)|choosing image instance/.test(msg)) {
    return new ValidationError("platform", `${name} has no image for ${formatPlatform(o.platform)}: ${msg}`, "set platform to one the image offers, or use an image built for this host", cause);
  }
  if (/server gave HTTP response to HTTPS client/.test(msg)) {
    return new ValidationError("tlsVerify", `registry ${where} speaks plain HTTP, and tlsVerify is on`, "set tlsVerify: false only for a registry on a trusted network (a local one), or give it TLS", cause);
  }
  if (/x509:|certificate signed by unknown authority|tls: /.test(msg)) {
    return new ValidationError("tlsVerify", `registry ${where}'s TLS certificate is not trusted: ${msg}`, "install its CA in /etc/containers/certs.d/<host>/ or the system store; tlsVerify: false turns the check off", cause);
  }
  if (/unauthorized|authentication required|invalid username\/password|denied/i.test(msg)) {
    const given = o.auth !== undefined;
    const problem = given
      ? `registry ${where} rejected the credentials for ${name}, or the repository does not exist for them`
      : `registry ${where} needs credentials for ${name}, or the repository does not exist`;
    return new ValidationError("auth", problem, given ? "check auth's username and password (or the auth file's entry)" : "give auth: { username, password } or { authFile }", cause);
  }
  if (/Digest did not match|does not match expected|digest mismatch|[Dd]igest .* does not match/.test(msg)) {
    return new ValidationError("ref", `the content of ${name} does not match its digest: ${msg}`, "the source is corrupt or changed while it was read; fix or re-push it", cause);
  }
  if (/manifest unknown|no descriptor found for reference|name unknown|blob unknown|not found/.test(msg)) {
    return new ValidationError("ref", `${name} does not exist: ${msg}`, "check the repository, tag or digest (skopeo list-tags docker://<repo> lists tags)", cause);
  }
  if (/connection refused|no such host|i\/o timeout|network is unreachable|no route to host|connection reset|pinging container registry/.test(msg)) {
    return new ValidationError("ref", `registry ${where} is unreachable: ${msg}`, "check the registry's host and port, and that it is up", cause);
  }
  if (/invalid reference format|invalid image name/.test(msg)) {
    return new ValidationError("ref", `${name} is not a valid reference: ${msg}`, undefined, cause);
  }
  if (/no such file or directory|not a directory/.test(msg) && o.ref.transport !== "docker") {
    return new ValidationError("ref", `${o.ref.path} cannot be read: ${msg}`, "give the path of an existing archive or OCI layout", cause);
  }
  if (/context deadline exceeded|Client\.Timeout/.test(msg)) {
    const t = new TimeoutError(`skopeo reading ${name}`, o.timeoutMs, msg);
    Object.defineProperty(t, "cause", { value: failure, writable: true, configurable: true });
    return t;
  }
  return failure.withContext(`reading ${name}`);
}

/** Runs skopeo with args; a private call dir (policy, auth file, temp files) lives only as long as the call. */
async function run(o: SkopeoOptions, build: (authFile: string | undefined) => string[]): Promise<Buffer> {
  const tmp = tmpDir(o.store);
  mkdirSync(tmp, { recursive: true, mode: 0o700 });
  const callDir = mkdtempSync(join(tmp, "skopeo-"));
  try {
    const policy = join(callDir, "policy.json");
    writeFileSync(policy, POLICY, { mode: 0o600 });
    const scratch = join(callDir, "tmp");
    mkdirSync(scratch, { mode: 0o700 });
    const authFile = o.ref.transport === "docker" ? authFileFor(o.auth, o.ref, callDir) : undefined;
    const global = ["--policy", policy, "--tmpdir", scratch, "--command-timeout", `${Math.ceil(o.timeoutMs / 1000)}s`];
    global.push("--override-os", o.platform.os, "--override-arch", o.platform.architecture);
    if (o.platform.variant !== undefined) global.push("--override-variant", o.platform.variant);
    return await exec(global, build(authFile), { PATH, LC_ALL: "C", TMPDIR: scratch, HOME: callDir }, o.timeoutMs + 10_000).catch((err: unknown) => {
      throw err instanceof SkopeoError ? mapSkopeoFailure(err, o) : err;
    });
  } finally {
    rmSync(callDir, { recursive: true, force: true });
  }
}

function exec(global: string[], args: string[], env: NodeJS.ProcessEnv, killAfterMs: number): Promise<Buffer> {
  // What errors show: the command without the call's private paths (no secrets are ever on argv).
  const shown = `skopeo ${args.join(" ")}`;
  return new Promise((resolve, reject) => {
    execFile("skopeo", [...global, ...args], { env, encoding: "buffer", maxBuffer: 64 << 20, timeout: killAfterMs, killSignal: "SIGKILL" }, (err, stdout, stderr) => {
      if (err === null) return resolve(stdout);
      const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
      if (e.code === "ENOENT") return reject(new HostformError("skopeo is not installed (apt-get install skopeo)", { cause: err }));
      const text = stderr.toString("utf8");
      const status = typeof e.code === "number" ? e.code : null;
      reject(new SkopeoError(shown, status, fatalMessage(text) ?? (text.trim().slice(-1000) || e.message)));
    });
  });
}

function tlsFlag(o: SkopeoOptions, flag: string): string[] {
  return o.ref.transport === "docker" ? [`${flag}=${o.tlsVerify}`] : [];
}

function credFlags(o: SkopeoOptions, authFile: string | undefined, prefix: string): string[] {
  if (o.ref.transport !== "docker") return [];
  return authFile !== undefined ? [`--${prefix}authfile`, authFile] : [`--${prefix}no-creds`];
}

/** The bytes of what the ref names (a manifest or an index): their sha256 is its digest. */
export function inspectRaw(o: SkopeoOptions, source: string = o.ref.skopeo): Promise<Buffer> {
  return run(o, (authFile) => ["inspect", "--raw", "--retry-times", "0", ...tlsFlag(o, "--tls-verify"), ...credFlags(o, authFile, ""), source]);
}

/**
 * Copies the platform's image from source into the OCI layout at layoutDir under tag, keeping the
 * source's manifest bytes (so its digest stays the registry's), and writes that manifest's digest
 * to digestFile.
 */
export async function copyToLayout(o: SkopeoOptions, source: string, layoutDir: string, tag: string, digestFile: string): Promise<void> {
  await run(o, (authFile) => [
    "copy",
    "--quiet",
    "--preserve-digests",
    "--remove-signatures",
    "--retry-times",
    "0",
    "--digestfile",
    digestFile,
    ...tlsFlag(o, "--src-tls-verify"),
    ...credFlags(o, authFile, "src-"),
    source,
    `oci:${layoutDir}:${tag}`,
  ]);
}

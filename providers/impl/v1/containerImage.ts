// A Container's root and defaults from its Image, as docker and podman apply them: the image's
// entrypoint is the command and its cmd the arguments unless declared (a declared command drops the
// image's cmd too, as `docker run --entrypoint` does), its env is merged under the declared one, and
// its user, working directory and stop signal hold where the declaration is silent. The root is
// copy-on-write: the runtime mounts the image's unpacked layers under an upper dir of the container's.
import { holdImage, releaseImage } from "../../../src/image/gc";
import { storeDir } from "../../../src/image/layout";
import { ValidationError } from "../../../src/sys/errors";
import type { ContainerConfig } from "../../../src/runtime/specgen/config";

/** What the Image gives a Container (the Image's outputs, as the Container resource passes them). */
export interface ContainerImageInput {
  /** The ref as declared, for messages. */
  ref: string;
  /** The digest of the manifest the container runs: a new one replaces the container. */
  manifestDigest: string;
  /** The unpacked layer directories, topmost first. */
  layers: string[];
  config: ImageDefaults;
}

/** The part of an image's config that gives a container its defaults. */
export interface ImageDefaults {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
  stopSignal?: string;
  exposedPorts?: string[];
}

/** The declaration fields the image fills in. */
export interface DeclaredProcess {
  command?: string[] | null;
  args?: string[] | null;
  env?: Record<string, string> | null;
  cwd?: string | null;
  user?: string | number | null;
}

function given<T>(v: T | null | undefined): v is T {
  return v !== undefined && v !== null;
}

/** command and args after the image's entrypoint and cmd (docker's rules). */
export function imageCommand(declared: DeclaredProcess, image: ImageDefaults): { command: string[]; args?: string[] } {
  if (given(declared.command)) return given(declared.args) ? { command: declared.command, args: declared.args } : { command: declared.command };
  const entrypoint = image.entrypoint ?? [];
  const rest = given(declared.args) ? declared.args : (image.cmd ?? []);
  const all = [...entrypoint, ...rest];
  if (all.length === 0) throw new ValidationError("command", "is not declared and the image has no entrypoint or cmd", "declare command");
  return { command: all };
}

/** The image's env ("NAME=value" list) with the declared variables over it. */
export function imageEnv(declared: Record<string, string> | null | undefined, image: ImageDefaults): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of image.env ?? []) {
    const eq = entry.indexOf("=");
    if (eq > 0) out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { ...out, ...(declared ?? {}) };
}

/**
 * The config fields of a container of this image: command, args, env, cwd and user after the
 * image's defaults, and the image's layers as its root.
 */
export function withImage(config: ContainerConfig, declared: DeclaredProcess, image: ContainerImageInput): ContainerConfig {
  const cmd = imageCommand(declared, image.config);
  const out: ContainerConfig = { ...config, rootfs: { layers: image.layers }, command: cmd.command };
  if (cmd.args !== undefined) out.args = cmd.args;
  else delete out.args;
  out.env = imageEnv(declared.env, image.config);
  const cwd = declared.cwd ?? (image.config.workingDir !== undefined && image.config.workingDir !== "" ? image.config.workingDir : undefined);
  if (cwd !== undefined) out.cwd = cwd;
  const user = declared.user ?? (image.config.user !== undefined && image.config.user !== "" ? image.config.user : undefined);
  if (user !== undefined) out.user = user;
  return out;
}

/** The container's name as an owner in the image store. */
function holder(id: string): string {
  return `container:${id}`;
}

/** Holds the image's layers in the store for as long as container `id` exists (no image: nothing). */
export async function holdContainerImage(id: string, image: ContainerImageInput | null | undefined): Promise<void> {
  if (image !== undefined && image !== null) await holdImage(storeDir(), image.manifestDigest, holder(id));
}

/** Lets the image go once container `id` is gone: the store removes what nothing else holds. */
export async function releaseContainerImage(id: string, image: ContainerImageInput | null | undefined): Promise<void> {
  if (image !== undefined && image !== null) await releaseImage(storeDir(), holder(id));
}

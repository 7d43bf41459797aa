// The Image resource: an OCI image copied by skopeo (from a registry, an OCI or docker archive, or an
// OCI layout directory) into hostform's content-addressed store, every blob checked against its
// digest, each layer unpacked once and shared by every image and container that uses it.
import * as pulumi from "@pulumi/pulumi";
import { OWNER_KEY, ownerInput } from "./owner";
import { stableProvider } from "./stableProvider";

const provider = stableProvider("image");

/** Registry credentials: a user and password (wrap the password in pulumi.secret()), or an auth file. */
export type ImageAuth =
  | { username: pulumi.Input<string>; password: pulumi.Input<string> }
  /** A containers-auth.json (`podman login`) or docker config.json (`docker login`) file. */
  | { authFile: pulumi.Input<string> };

/** Arguments of an Image. */
export interface ImageArgs {
  /**
   * What to copy: "registry.example/ns/name:tag" or "...@sha256:<digest>" (a short name like
   * "nginx:1.27" means docker.io/library/nginx:1.27), "oci-archive:/path.tar[:tag]",
   * "docker-archive:/path.tar[:name:tag]" or "oci:/dir[:tag]".
   */
  ref: pulumi.Input<string>;
  /** "os/arch[/variant]", e.g. "linux/arm64/v8". Default: the host's. */
  platform?: pulumi.Input<string>;
  /**
   * "missing" (default): `up` pulls when the image is not in the store, or when `refresh`/`drift`
   * found the tag moved. "always": every `up` asks the registry where the tag points now.
   */
  pullPolicy?: pulumi.Input<"missing" | "always">;
  auth?: pulumi.Input<ImageAuth>;
  /** Verify the registry's TLS certificate (default true); false also allows plain HTTP. */
  tlsVerify?: pulumi.Input<boolean>;
}

/** The part of the image's config containers take their defaults from. */
export interface ImageConfig {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
  /** "80/tcp", ... */
  exposedPorts: string[];
  stopSignal?: string;
  labels: Record<string, string>;
}

/**
 * An image in hostform's store. The digest is pinned at create: `refresh`/`drift` ask where the tag
 * points now and report a moved tag as `resolvedDigest`, and the next `up` pulls it and replaces the
 * containers that run the image. A layer directory removed out of band is reported (`intact`,
 * `missingLayers`) and unpacked again by `up`. Deleting the last Image that uses a blob or layer
 * removes it from the store.
 */
export class Image extends pulumi.dynamic.Resource {
  /** The ref as declared. */
  declare readonly ref: pulumi.Output<string>;
  /** The ref as normalised ("docker.io/library/nginx:1.27"). */
  declare readonly refName: pulumi.Output<string>;
  /** What the ref resolved to when it was pulled (an index's digest for a multi-platform tag). */
  declare readonly digest: pulumi.Output<string>;
  /** The platform manifest that runs. */
  declare readonly manifestDigest: pulumi.Output<string>;
  /** Its platform, "os/arch[/variant]". */
  declare readonly manifestPlatform: pulumi.Output<string>;
  /** Where the ref points now, as the last read found it; differs from digest when the tag moved. */
  declare readonly resolvedDigest: pulumi.Output<string>;
  declare readonly config: pulumi.Output<ImageConfig>;
  /** Bytes of the image's blobs (manifest, config, compressed layers). */
  declare readonly size: pulumi.Output<number>;
  /** The unpacked layer directories, topmost first: a container's read-only root. */
  declare readonly layerDirs: pulumi.Output<string[]>;
  /** Whether every blob and unpacked layer is in the store. */
  declare readonly intact: pulumi.Output<boolean>;
  /** diff_ids of layers whose directory is missing or incomplete. */
  declare readonly missingLayers: pulumi.Output<string[]>;

  constructor(name: string, args: ImageArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      name,
      {
        ...args,
        resourceName: name,
        [OWNER_KEY]: ownerInput("Image", name),
        refName: undefined,
        digest: undefined,
        manifestDigest: undefined,
        manifestPlatform: undefined,
        resolvedDigest: undefined,
        config: undefined,
        size: undefined,
        layerDirs: undefined,
        intact: undefined,
        missingLayers: undefined,
      },
      opts,
      "hostform",
      "Image",
    );
  }
}

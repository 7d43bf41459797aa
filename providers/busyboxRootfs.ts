// The BusyboxRootfs resource: a small root filesystem made from the host's busybox-static, so that
// examples and tests never download an image.
import * as pulumi from "@pulumi/pulumi";
import { stableProvider } from "./stableProvider";

const provider = stableProvider("busyboxRootfs");

/** Arguments of a BusyboxRootfs. */
export interface BusyboxRootfsArgs {
  /** Pinned directory name under /var/lib/hostform/rootfs. Default: the resource name plus a random suffix. */
  name?: pulumi.Input<string>;
  /** Path of a statically linked busybox. Default /bin/busybox (package busybox-static). */
  busybox?: pulumi.Input<string>;
  /** Applets to link in /bin. Default: all the binary has. */
  applets?: pulumi.Input<pulumi.Input<string>[]>;
}

/**
 * /var/lib/hostform/rootfs/<name> (HOSTFORM_LIB_DIR moves the base): /bin/busybox with its applet
 * links, /etc/passwd and /etc/group with root and nobody, and empty /proc, /dev, /sys, /tmp. Built
 * atomically; removed on destroy. Damaged content (a changed binary, a deleted directory) shows as
 * drift and is rebuilt by the next `up`.
 */
export class BusyboxRootfs extends pulumi.dynamic.Resource {
  /** The directory name. */
  declare readonly name: pulumi.Output<string>;
  /** Absolute path of the rootfs: give it to a container as its rootfs. The resource id. */
  declare readonly path: pulumi.Output<string>;
  /** sha256 of the busybox binary inside. */
  declare readonly busyboxDigest: pulumi.Output<string>;
  /** Number of applet links in /bin. */
  declare readonly appletCount: pulumi.Output<number>;
  /** True when the content is as built. */
  declare readonly intact: pulumi.Output<boolean>;

  constructor(name: string, args: BusyboxRootfsArgs = {}, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      name,
      { ...args, resourceName: name, autonamed: undefined, path: undefined, busyboxDigest: undefined, appletCount: undefined, intact: undefined },
      opts,
      "hostform",
      "BusyboxRootfs",
    );
  }
}

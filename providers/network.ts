// The Network resource: a Linux bridge network (the CNI reference plugins' bridge, host-local IPAM,
// portmap and firewall) that containers join, reach each other on by name, and publish ports from.
import * as pulumi from "@pulumi/pulumi";
import { OWNER_KEY, ownerInput } from "./owner";
import { stableProvider } from "./stableProvider";

const provider = stableProvider("network");

/** Arguments of a Network. */
export interface NetworkArgs {
  /** IPv4 subnet in CIDR form, e.g. "10.89.1.0/24". It must not overlap the host's routes or another network. */
  subnet: pulumi.Input<string>;
  /** The network's name (the key of its leases and of the names containers resolve). Default: the
   *  resource name plus a random suffix. */
  name?: pulumi.Input<string>;
  /** The bridge's address, which containers route through. Default: the subnet's first host. */
  gateway?: pulumi.Input<string>;
  /** No masquerade and no default route: containers reach each other and the host, nothing beyond. */
  internal?: pulumi.Input<boolean>;
  /** MTU of the bridge and the containers' interfaces (default: the kernel's, 1500). */
  mtu?: pulumi.Input<number>;
  /** The Linux bridge's name (at most 15 bytes). Default "hf-" and 8 hex digits of the name. */
  bridge?: pulumi.Input<string>;
}

/**
 * A bridge network. The bridge is made with its gateway address at create; containers attach with
 * a veth each, get an address from host-local IPAM, and NAT to the outside unless `internal`.
 * `refresh`/`drift` check the bridge and its address; `up` makes them again when removed out of band.
 * A change of subnet, gateway, internal, mtu or bridge makes a new network (and new containers on it).
 */
export class Network extends pulumi.dynamic.Resource {
  /** The network's name; the resource id. */
  declare readonly name: pulumi.Output<string>;
  declare readonly subnet: pulumi.Output<string>;
  declare readonly gateway: pulumi.Output<string>;
  declare readonly internal: pulumi.Output<boolean>;
  declare readonly bridge: pulumi.Output<string>;
  /** The CNI network configuration list (JSON) containers are attached with. */
  declare readonly confList: pulumi.Output<string>;
  /** Live: the bridge exists and is up. */
  declare readonly bridgeUp: pulumi.Output<boolean>;
  /** Live: the bridge's IPv4 addresses (CIDR). */
  declare readonly bridgeAddresses: pulumi.Output<string[]>;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      name,
      { ...args, resourceName: name, [OWNER_KEY]: ownerInput("Network", name), autonamed: undefined, gateway: args.gateway, bridge: args.bridge, internal: args.internal, confList: undefined, bridgeUp: undefined, bridgeAddresses: undefined },
      opts,
      "hostform",
      "Network",
    );
  }
}

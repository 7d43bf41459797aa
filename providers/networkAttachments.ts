// How a Container's or a Namespace's `networks` reach its provider: each Network by its name and
// conflist (outputs), with the attachment's own address and aliases.
import type * as pulumi from "@pulumi/pulumi";
import { Network } from "./network";

/** A network with the attachment's own choices on it. */
export interface ContainerNetwork {
  network: Network;
  /** The address to take (in the network's subnet); default: the next free one. */
  ip?: pulumi.Input<string>;
  /** More names peers on this network reach it by (besides its name and resource name). */
  aliases?: pulumi.Input<pulumi.Input<string>[]>;
}

/** The wire form of `networks` (providers/impl/v1/networkDeclaration.ts NetworkAttachmentInput). */
export function networkAttachmentsOf(networks: Array<Network | ContainerNetwork> | undefined): unknown[] | undefined {
  return networks?.map((n) => (n instanceof Network ? { network: n.name, confList: n.confList } : { network: n.network.name, confList: n.network.confList, ip: n.ip, aliases: n.aliases }));
}

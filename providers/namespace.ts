// The Namespace resource: a set of pinned namespaces that outlives any process, for containers to
// share (like a pod's sandbox).
import * as pulumi from "@pulumi/pulumi";
import type { NamespaceType } from "../src/ns";
import type { PublishedPort } from "../src/net/portSpec";
import type { Network } from "./network";
import { networkAttachmentsOf, type ContainerNetwork } from "./networkAttachments";
import { OWNER_KEY, ownerInput } from "./owner";
import { stableProvider } from "./stableProvider";
import type { IdMappingArg } from "./container";

const provider = stableProvider("namespace");

/** Arguments of a Namespace. */
export interface NamespaceArgs {
  /** Namespace types to create: net, uts, ipc, mnt, pid, cgroup, user. With "user", the others
   *  are made after it and belong to it (root of the set's containers may rename its uts, configure
   *  its net); containers joining the set are in it, root inside and an unprivileged uid outside.
   *  mnt cannot be beside user yet. */
  types: pulumi.Input<pulumi.Input<NamespaceType>[]>;
  /** With "user" in types: "auto" (default: 65536 ids of hostform's /etc/subuid range that no
   *  container or set has) or { uidMappings, gidMappings }. */
  userns?: pulumi.Input<"auto" | { uidMappings: pulumi.Input<IdMappingArg>[]; gidMappings: pulumi.Input<IdMappingArg>[] }>;
  /** Pinned set name. Default: the resource name plus a random suffix. A pinned name makes
   *  replacements delete the old set first. */
  name?: pulumi.Input<string>;
  /** Networks the set's network namespace is attached to (needs "net" in types), like a podman
   *  pod's: containers joining it share its addresses, and peers reach it by the set's name, its
   *  resource name, its aliases and the names of the containers in it. */
  networks?: Array<Network | ContainerNetwork>;
  /** Ports published from the first network, as a Container's. */
  ports?: pulumi.Input<pulumi.Input<string | PublishedPort>[]>;
  /** Nameservers for the /etc/resolv.conf of the containers in it; changed in place. */
  dns?: pulumi.Input<pulumi.Input<string>[]>;
  /** Extra /etc/hosts entries, "name:ip"; changed in place. */
  extraHosts?: pulumi.Input<pulumi.Input<string>[]>;
}

/**
 * Namespaces pinned under /run/hostform/ns/<name>/<type> (bind mounts of nsfs files). A set with a
 * pid namespace keeps a tiny holder process as its PID 1. A namespace cannot be modified or
 * re-entered once lost, so a change of types, or a pin removed behind hostform's back, replaces it.
 */
export class Namespace extends pulumi.dynamic.Resource {
  /** The set's name; the resource id. */
  declare readonly name: pulumi.Output<string>;
  /** Types in canonical order. */
  declare readonly types: pulumi.Output<NamespaceType[]>;
  /** The set's directory. */
  declare readonly path: pulumi.Output<string>;
  /** Pin path of each type, what setns(2) or `nsenter --net=<path>` takes. */
  declare readonly paths: pulumi.Output<Partial<Record<NamespaceType, string>>>;
  /** nsfs inode of each type (as `ls -l /proc/<pid>/ns` shows). */
  declare readonly inodes: pulumi.Output<Partial<Record<NamespaceType, number>>>;
  /** PID of the pid namespace's holder process; 0 without a pid namespace. */
  declare readonly holderPid: pulumi.Output<number>;
  /** True when every type is pinned and the holder (if any) lives. */
  declare readonly intact: pulumi.Output<boolean>;
  /** When the set was made (ISO 8601). */
  declare readonly createdAt: pulumi.Output<string>;
  /** Start time of the holder (clock ticks since boot, /proc/<pid>/stat field 22); 0 without one. */
  declare readonly holderStartTime: pulumi.Output<number>;
  /**
   * What makes this set this set: its creation time, plus its holder's pid and start time. Inode
   * numbers are not enough, since nsfs reuses a freed namespace's number.
   */
  declare readonly identity: pulumi.Output<string>;
  /** Live, per network name: { interface, ip, mac, check }. */
  declare readonly networkInterfaces: pulumi.Output<Record<string, { interface: string; ip: string; mac: string; check: string }>>;
  /** Live: the published ports whose rules are in place. */
  declare readonly publishedPorts: pulumi.Output<string[]>;
  /** With a user namespace: its uid and gid mappings (for "auto", the block it got); null without. */
  declare readonly idMappings: pulumi.Output<{ uid: IdMappingArg[]; gid: IdMappingArg[] } | null>;

  constructor(name: string, args: NamespaceArgs, opts?: pulumi.CustomResourceOptions) {
    const { networks, ...rest } = args;
    super(
      provider,
      name,
      { ...rest, resourceName: name, networkAttachments: networkAttachmentsOf(networks), networkInterfaces: undefined, publishedPorts: undefined,
        [OWNER_KEY]: ownerInput("Namespace", name), autonamed: undefined, path: undefined, paths: undefined, inodes: undefined, holderPid: undefined, intact: undefined, createdAt: undefined, holderStartTime: undefined, identity: undefined, idMappings: undefined },
      opts,
      "hostform",
      "Namespace",
    );
  }
}

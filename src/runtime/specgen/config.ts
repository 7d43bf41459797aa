// A container as its owner declares it — the Container resource today; networks, images and user
// namespaces add their fields here — before it becomes an OCI spec (generate.ts). Field names are
// the declaration's own, so every error names what the user wrote.
import type { IdMapping } from "../specUserNamespace";
import type { NamespaceType } from "../../sys/namespaces";

/** A mount as users declare it. */
export interface ContainerMount {
  /** Absolute path inside the container. */
  destination: string;
  /** Host path for a bind mount; the fs source (e.g. "tmpfs") otherwise. */
  source?: string;
  /** "bind" (default when source is an absolute path), "tmpfs", "proc", "sysfs", "mqueue", "devpts". */
  type?: string;
  /** Mount options ("nosuid", "size=16m", ...). */
  options?: string[];
  /** Mount read-only. */
  readonly?: boolean;
  /**
   * A bind mount seen through the container's user namespace (userns "auto" or mappings): files the
   * host's root owns are the container's root's, and what it writes lands with the host's ids
   * unshifted (podman's `:idmap`). Without it, a file the container's root makes belongs to its
   * mapped uid on the host.
   */
  idmap?: boolean;
}

/** Capabilities added to or dropped from Docker's 14 defaults; "ALL" means every capability. */
export interface ContainerCapabilities {
  add?: string[];
  drop?: string[];
}

/** An rlimit: one number for soft and hard, or both. */
export type ContainerRlimit = number | { soft: number; hard: number };

/** Namespaces the container joins (a Namespace resource's pinned set); the rest are its own. */
export interface JoinedNamespaces {
  /** The set's name, for messages. */
  name: string;
  /** Pin path of each joined type. */
  paths: Partial<Record<NamespaceType, string>>;
}

/** A host device passed into the container (Docker's --device). */
export interface ContainerDevice {
  /** The host's device node, e.g. "/dev/fuse". */
  path: string;
  /** What the container may do with it: letters of r, w, m (default "rwm"). */
  permissions?: string;
  /** Where it appears in the container (default: the same path). */
  containerPath?: string;
}

/** Files the runtime's owner keeps current, bind-mounted over the rootfs's /etc copies (Docker's way). */
export interface NameFiles {
  hosts: string;
  hostname: string;
  resolvConf: string;
}

/** An image's read-only layers, topmost first. */
export interface LayeredRootfs {
  layers: string[];
}

/**
 * Whose ids the container's are (issue 16): "host" (the default: root inside is root outside),
 * "auto" (a user namespace with a 65536-id block of hostform's range, picked by the runtime at
 * create), or explicit mappings, as in the OCI spec.
 */
export type ContainerUserns = "host" | "auto" | { uidMappings: IdMapping[]; gidMappings: IdMapping[] };

/** Everything that makes the container's OCI spec. Optional fields get Docker's defaults. */
export interface ContainerConfig {
  /**
   * The root filesystem: a directory's absolute path, or an image's unpacked layers (topmost first),
   * which the runtime mounts copy-on-write for the container (the spec's root.path is then "rootfs",
   * the runtime's mount point).
   */
  rootfs: string | LayeredRootfs;
  /** Program and its first arguments. */
  command: string[];
  /** More arguments, appended to command. */
  args?: string[];
  /** Environment variables (PATH defaults to the usual one when not given). */
  env?: Record<string, string>;
  cwd?: string;
  /** uid, "uid:gid" or a name in the rootfs's /etc/passwd. */
  user?: string | number;
  hostname?: string;
  capabilities?: ContainerCapabilities;
  /** By name: "nofile" or "RLIMIT_NOFILE". */
  rlimits?: Record<string, ContainerRlimit>;
  mounts?: ContainerMount[];
  readonlyRootfs?: boolean;
  namespace?: JoinedNamespaces;
  /** Host devices created in the container and allowed in its cgroup. */
  devices?: ContainerDevice[];
  /**
   * The network namespace: "host" for the host's (docker --network host), a path to join (a pinned
   * one that networks were attached to), or absent for a namespace of its own with only lo.
   */
  networkNamespace?: string;
  /** Host files mounted at /etc/hosts, /etc/hostname and /etc/resolv.conf. */
  nameFiles?: NameFiles;
  userns?: ContainerUserns;
}

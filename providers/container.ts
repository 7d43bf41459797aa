// The Container resource: a process tree in its own (or a shared) set of namespaces, cgroup and
// seccomp filter, run by hostform's runtime under the shared supervisor, which keeps it running
// (and restarts it by its policy) after the engine has exited.
import * as pulumi from "@pulumi/pulumi";
import type { CgroupLimits, NormalizedLimits } from "../src/cgroup/spec";
import type { NamespaceType } from "../src/ns/types";
import { BusyboxRootfs } from "./busyboxRootfs";
import type { Cgroup } from "./cgroup";
import type { Image, ImageConfig } from "./image";
import type { ContainerCapabilities, ContainerDevice, ContainerMount, ContainerRlimit } from "./impl/v1/containerInputs";
import type { Namespace } from "./namespace";
import type { Network } from "./network";
import { networkAttachmentsOf, type ContainerNetwork } from "./networkAttachments";
export type { ContainerNetwork } from "./networkAttachments";
import type { PublishedPort } from "../src/net/portSpec";
import { SeccompProfile } from "./seccompProfile";
import { OWNER_KEY, ownerInput } from "./owner";
import { stableProvider } from "./stableProvider";

export type { ContainerCapabilities, ContainerDevice, ContainerMount, ContainerRlimit } from "./impl/v1/containerInputs";
export type { PublishedPort } from "../src/net/portSpec";

const provider = stableProvider("container");

/** Arguments of a Container. */
/** One range of ids: the container's containerID.. are the host's hostID.., size of them. */
export interface IdMappingArg {
  containerID: number;
  hostID: number;
  size: number;
}

export interface ContainerArgs {
  /** Pinned container id (also its cgroup's last segment). Default: the resource name plus a random
   *  suffix. A pinned name makes replacements delete the old container first. */
  name?: pulumi.Input<string>;
  /** The root filesystem: a directory path, or a BusyboxRootfs. Give this or `image`. */
  rootfs?: pulumi.Input<string> | BusyboxRootfs;
  /**
   * An Image whose layers are the root, written copy-on-write (an upper directory per container,
   * removed with it). Its config gives the defaults: entrypoint and cmd as command (unless declared),
   * env (merged under `env`), user, cwd and stop signal. A new image digest makes a new container.
   */
  image?: Image;
  /**
   * A directory root written copy-on-write (default true): each container gets an overlay with its own
   * upper directory, so containers on one directory never see each other's writes and the directory
   * never changes. false runs the container on the directory itself (its writes land there).
   */
  copyOnWrite?: pulumi.Input<boolean>;
  /** Program and its first arguments, e.g. ["/bin/sh", "-c", "..."]. Looked up in the root. Required
   *  without an image; with one, it replaces the image's entrypoint (and cmd). */
  command?: pulumi.Input<pulumi.Input<string>[]>;
  /** More arguments appended to command. */
  args?: pulumi.Input<pulumi.Input<string>[]>;
  /** Environment variables. Values wrapped in pulumi.secret() stay secret in the state and are
   *  never printed. PATH defaults to the usual directories. */
  env?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Working directory inside the container (default "/"). */
  cwd?: pulumi.Input<string>;
  /** uid, "uid:gid", or a user (and group) name from the rootfs's /etc/passwd (/etc/group). Default root. */
  user?: pulumi.Input<string | number>;
  /** Hostname (default "hostform"); not allowed when joining a Namespace's uts namespace. */
  hostname?: pulumi.Input<string>;
  /** A Namespace to join for each type it holds (net, uts, ipc; mnt/pid/cgroup joins are not
   *  supported by the runtime yet). The container creates its own namespaces for the other types. */
  namespace?: Namespace;
  /** A Cgroup to live in: the container gets its own cgroup nested under it ("<fullName>/<id>"),
   *  so the Cgroup's limits cap the pod and `limits` cap this container. */
  cgroup?: Cgroup;
  /** Limits of the container's own cgroup, written live on change (no restart). */
  limits?: pulumi.Input<CgroupLimits>;
  /** A SeccompProfile, "default" (Docker's profile for the container's capabilities) or
   *  "unconfined". Default "default". */
  seccompProfile?: SeccompProfile | "default" | "unconfined";
  /** Capabilities added to or dropped from Docker's 14 defaults ("ALL" for every one). */
  capabilities?: pulumi.Input<ContainerCapabilities>;
  /** Extra mounts; a mount at a default mount's destination replaces it. */
  mounts?: pulumi.Input<pulumi.Input<ContainerMount>[]>;
  /** Mount the root filesystem read-only. */
  readonlyRootfs?: pulumi.Input<boolean>;
  /** Whose ids the container's are: "host" (default; root inside is root of the host), "auto" (a
   *  user namespace with 65536 ids of hostform's /etc/subuid range that no other container has:
   *  root inside is an unprivileged uid outside, and the root filesystem is ID-mapped, not copied),
   *  or { uidMappings, gidMappings } as in the OCI spec. */
  userns?: pulumi.Input<"host" | "auto" | { uidMappings: pulumi.Input<IdMappingArg>[]; gidMappings: pulumi.Input<IdMappingArg>[] }>;
  /** Host devices passed in: each node is created in the container and allowed in its cgroup, e.g.
   *  [{ path: "/dev/fuse" }] or { path: "/dev/sdb", permissions: "r", containerPath: "/dev/disk0" }.
   *  Every other device stays denied (Docker's default device policy). */
  devices?: pulumi.Input<pulumi.Input<ContainerDevice>[]>;
  /** Resource limits by name: { nofile: 1024 } or { nofile: { soft: 1024, hard: 4096 } }. */
  rlimits?: pulumi.Input<Record<string, pulumi.Input<ContainerRlimit>>>;
  /** "no" (default), "always", "on-failure" or "on-failure:N"; changed in place. */
  restartPolicy?: pulumi.Input<string>;
  /** "running" (default: a service) or "exited" (a job: `up` waits for it to run to completion and
   *  fails unless it exits 0, showing the end of its log; once it exited 0 it stays in sync, and a
   *  failed or removed one runs again at the next `up`). */
  desiredState?: pulumi.Input<"running" | "exited">;
  /** Signal sent first on stop (default SIGTERM); changed in place. */
  stopSignal?: pulumi.Input<string>;
  /** Seconds between the stop signal and SIGKILL of the whole cgroup (default 10); changed in place. */
  stopTimeout?: pulumi.Input<number>;
  /** Networks to attach to, in order (eth0, eth1, ...): a Network, or { network, ip?, aliases? }.
   *  Peers reach the container by its name, its resource name and its aliases. Without networks the
   *  container has a network namespace of its own with only lo. */
  networks?: Array<Network | ContainerNetwork>;
  /** Ports published from the first network: { hostPort, containerPort, protocol?, hostIp? } or
   *  docker's "127.0.0.1:8080:80/tcp". A host port already taken is refused at create. */
  ports?: pulumi.Input<pulumi.Input<string | PublishedPort>[]>;
  /** "none": a network namespace of its own with only lo (the default without networks); "host":
   *  the host's network namespace (docker --network host). */
  networkMode?: pulumi.Input<"none" | "host">;
  /** Nameservers for its /etc/resolv.conf (default: the host's, without loopback ones); changed in place. */
  dns?: pulumi.Input<pulumi.Input<string>[]>;
  /** Extra /etc/hosts entries, "name:ip" (docker --add-host); changed in place. */
  extraHosts?: pulumi.Input<pulumi.Input<string>[]>;
}

/**
 * A container run by hostform's runtime. Limits, restart policy and stop settings change in place;
 * anything else (rootfs, command, env, user, namespaces, capabilities, mounts, the seccomp
 * profile's digest) makes a new container. `refresh`/`drift` read the live host: a killed
 * container shows as stopped, a rewritten limit as modified, and the next `up` repairs both.
 */
export class Container extends pulumi.dynamic.Resource {
  /** The container id: what `hostform ps`, `logs` and `exec` take. */
  declare readonly containerId: pulumi.Output<string>;
  /** The container's cgroup under hostform's parent. */
  declare readonly cgroupName: pulumi.Output<string>;
  /** Host pid of the container's PID 1 (0 when not running). */
  declare readonly pid: pulumi.Output<number>;
  /** "running" or "stopped". */
  declare readonly status: pulumi.Output<string>;
  /** When the current (or last) run started, ISO 8601. */
  declare readonly startedAt: pulumi.Output<string>;
  /** Restarts done by the restart policy. */
  declare readonly restartCount: pulumi.Output<number>;
  /** Exit code of the last run (128+signal when killed); null while running. */
  declare readonly exitCode: pulumi.Output<number | null>;
  /** The container's stdout/stderr log file. */
  declare readonly logPath: pulumi.Output<string>;
  /** Live values of the declared limits. */
  declare readonly liveLimits: pulumi.Output<NormalizedLimits | null>;
  /** Seccomp mode of PID 1: "filter" or "disabled". */
  declare readonly seccompMode: pulumi.Output<string>;
  /** nsfs inode of each namespace of PID 1. */
  declare readonly namespaces: pulumi.Output<Partial<Record<NamespaceType, number>>>;
  /** Whether PID 1 is in the container's cgroup in every hierarchy. */
  declare readonly inCgroup: pulumi.Output<boolean>;
  /** Hierarchies its cgroup was removed from out of band (v1 and hybrid hosts); [] when whole. */
  declare readonly missingHierarchies: pulumi.Output<string[]>;
  /** Live, per network name: { interface, ip, mac }. */
  declare readonly networkInterfaces: pulumi.Output<Record<string, { interface: string; ip: string; mac: string; check: string }>>;
  /** Live: the published ports whose rules are in place, "127.0.0.1:8080->80/tcp". */
  declare readonly publishedPorts: pulumi.Output<string[]>;
  /** The image's exposed ports ("80/tcp"); publishing is declared with `ports`. */
  declare readonly exposedPorts: pulumi.Output<string[]>;
  /** Live: the uid and gid mappings of PID 1's user namespace (userns "auto": the block it got); null for the host's. */
  declare readonly idMappings: pulumi.Output<{ uid: IdMappingArg[]; gid: IdMappingArg[] } | null>;

  constructor(name: string, args: ContainerArgs, opts?: pulumi.CustomResourceOptions) {
    const { rootfs, image, namespace, cgroup, seccompProfile, networks, ...rest } = args;
    const profile = seccompProfile instanceof SeccompProfile ? seccompProfile : undefined;
    super(
      provider,
      name,
      {
        ...rest,
        resourceName: name,
        [OWNER_KEY]: ownerInput("Container", name),
        autonamed: undefined,
        rootfs: rootfs instanceof BusyboxRootfs ? rootfs.path : rootfs,
        image: image !== undefined ? imageInput(image) : undefined,
        networkAttachments: networkAttachmentsOf(networks),
        namespaceName: namespace?.name,
        namespacePaths: namespace?.paths,
        namespaceInodes: namespace?.inodes,
        namespaceIdentity: namespace?.identity,
        namespaceIdMappings: namespace?.idMappings,
        cgroupParent: cgroup?.fullName,
        seccomp: profile !== undefined ? "profile" : (seccompProfile ?? "default"),
        seccompProfileJson: profile?.profileJson,
        seccompArch: profile?.arch,
        seccompCapabilities: profile?.capabilities,
        seccompDigest: profile?.digest,
        containerId: undefined,
        cgroupName: undefined,
        pid: undefined,
        pidStartTime: undefined,
        status: undefined,
        startedAt: undefined,
        restartCount: undefined,
        exitCode: undefined,
        logPath: undefined,
        liveLimits: undefined,
        seccompMode: undefined,
        namespaces: undefined,
        inCgroup: undefined,
        missingHierarchies: undefined,
        networkInterfaces: undefined,
        publishedPorts: undefined,
        exposedPorts: undefined,
        idMappings: undefined,
      },
      opts,
      "hostform",
      "Container",
    );
  }
}

/** What a container takes from its Image: the pinned manifest, the layer directories and the config. */
function imageInput(image: Image): pulumi.Output<{ ref: string; manifestDigest: string; layers: string[]; config: ImageConfig }> {
  return pulumi.all([image.ref, image.manifestDigest, image.layerDirs, image.config]).apply(([ref, manifestDigest, layers, config]) => ({ ref, manifestDigest, layers, config }));
}

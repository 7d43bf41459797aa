// The wire shape of a Container's inputs and outputs (protocol v1). Resources are referenced by
// their outputs (a Namespace by name/paths/inodes, a Cgroup by full name, a SeccompProfile by its
// profile text and digest), so the provider process never needs the other resources' code.
import type { CgroupLimits, NormalizedLimits } from "../../../src/cgroup/spec";
import type { NamespaceType } from "../../../src/ns/types";
import type { ContainerConfig } from "../../../src/runtime/specgen/config";
import type { PublishedPort } from "../../../src/net/portSpec";
import type { NamedInputs } from "./autoname";
import type { IdMapping } from "../../../src/ns/idMapping";
import type { ContainerImageInput } from "./containerImage";
import type { NetworkAttachmentInput } from "./networkDeclaration";

export type { ContainerCapabilities, ContainerDevice, ContainerMount, ContainerRlimit } from "../../../src/runtime/specgen/config";

/** How the container is filtered: Docker's default, none, or a SeccompProfile's compiled profile. */
export type ContainerSeccompChoice = "default" | "unconfined" | "profile";

/**
 * Inputs as the Container resource sends them (after check: name chosen): the runtime's
 * ContainerConfig fields under the same names (env values may arrive as secrets; the engine unwraps
 * them), plus what the provider resolves itself: the joined Namespace, the cgroup, the filter, the
 * supervisor's policies.
 */
export interface ContainerInputs extends NamedInputs, Omit<ContainerConfig, "namespace" | "networkNamespace" | "nameFiles" | "rootfs" | "command"> {
  /** A directory root (absent with an image). */
  rootfs?: string;
  /** Program and first arguments; with an image, the image's entrypoint and cmd unless given. */
  command?: string[];
  /** The Image the root and the defaults come from. */
  image?: ContainerImageInput;
  /** A directory root written copy-on-write, an overlay per container (default true); false writes into the directory. */
  copyOnWrite?: boolean;
  /** The joined Namespace: its name, pin paths and inodes (the inodes change when it is made again). */
  namespaceName?: string;
  namespacePaths?: Partial<Record<NamespaceType, string>>;
  namespaceInodes?: Partial<Record<NamespaceType, number>>;
  /**
   * The Namespace's identity (creation time, holder pid and start time): nsfs inodes are reused once a
   * namespace is freed, so a set re-created out of band can carry the old inodes.
   */
  namespaceIdentity?: string;
  /** With a user namespace in the Namespace: its mappings (the container's root is ID-mapped with them). */
  namespaceIdMappings?: { uid: IdMapping[]; gid: IdMapping[] } | null;
  /** Full name of the Cgroup the container's cgroup is nested in. */
  cgroupParent?: string;
  /** The container's own cgroup limits. */
  limits?: CgroupLimits;
  seccomp?: ContainerSeccompChoice;
  /** With seccomp "profile": the SeccompProfile's validated JSON, target, capabilities and digest. */
  seccompProfileJson?: string;
  seccompArch?: string;
  seccompCapabilities?: string[];
  seccompDigest?: string;
  /** "no" | "always" | "on-failure[:N]". */
  restartPolicy?: string;
  /**
   * "running" (a service, the default) or "exited" (a job: `up` waits for it to finish, fails unless
   * it exits 0, and a job that did exit 0 stays in sync).
   */
  desiredState?: "running" | "exited";
  stopSignal?: string;
  /** Seconds between the stop signal and SIGKILL. */
  stopTimeout?: number;
  /** The Networks it is attached to, in order (eth0, eth1, ...), with its own address and aliases on each. */
  networkAttachments?: NetworkAttachmentInput[];
  /** Published ports (on the first network): objects or "127.0.0.1:8080:80/tcp". */
  ports?: Array<string | PublishedPort>;
  /** "none" (own namespace, only lo) or "host" (the host's network namespace). */
  networkMode?: string;
  /** Nameservers written to its /etc/resolv.conf. */
  dns?: string[];
  /** "name:ip" lines added to its /etc/hosts. */
  extraHosts?: string[];
}

/** Outputs: the inputs plus what the host says. */
export interface ContainerOutputs extends ContainerInputs {
  /** The runtime's container id (the resource id). */
  containerId: string;
  /** The container's cgroup under hostform's parent ("<cgroupParent>/<id>" or "<id>"). */
  cgroupName: string;
  /** Host pid of the container's PID 1; 0 when it is not running. */
  pid: number;
  /** /proc/<pid>/stat start time of that pid, so a reused pid is not taken for it. */
  pidStartTime: number;
  /** "running", "stopped" or "created". */
  status: string;
  /** Live: the mappings of its PID 1's user namespace (userns "auto": the block it got); null for the host's. */
  idMappings: { uid: IdMapping[]; gid: IdMapping[] } | null;
  startedAt: string;
  restartCount: number;
  /** Exit code of the last run (128+signal when killed); null while running or unknown. */
  exitCode: number | null;
  logPath: string;
  /** Whether PID 1 is a member of the container's cgroup. */
  inCgroup: boolean;
  /** Live values of the declared limits (null when the cgroup is gone). */
  liveLimits: NormalizedLimits | null;
  /** Hierarchies the container's cgroup was removed from out of band (v1, hybrid); [] when whole. */
  missingHierarchies: string[];
  /** Seccomp mode of PID 1 ("filter", "disabled"); "" when not running. */
  seccompMode: string;
  /** nsfs inodes of PID 1's namespaces (empty when not running). */
  namespaces: Partial<Record<NamespaceType, number>>;
  /** Live, per network: the interface, its IPv4 address and MAC; a network whose interface is gone is absent. */
  networkInterfaces: Record<string, { interface: string; ip: string; mac: string; check: string }>;
  /** Live: the published ports whose rules are in place ("127.0.0.1:8080->80/tcp"). */
  publishedPorts: string[];
  /** The image's exposed ports ("80/tcp"), for reference: publishing is declared with ports. */
  exposedPorts?: string[];
}

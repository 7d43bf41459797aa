// hostform's public API: `import * as hf from "hostform"`.
export { Namespace, type NamespaceArgs } from "./namespace";
export { Cgroup, type CgroupArgs } from "./cgroup";
export { SeccompProfile, type SeccompProfileArgs } from "./seccompProfile";
export { BusyboxRootfs, type BusyboxRootfsArgs } from "./busyboxRootfs";
export { Network, type NetworkArgs } from "./network";
export { Image, type ImageArgs, type ImageAuth, type ImageConfig } from "./image";
export { Container, type ContainerArgs, type ContainerNetwork, type PublishedPort, type ContainerCapabilities, type ContainerDevice, type ContainerMount, type ContainerRlimit } from "./container";
export { PROVIDER_PROTOCOL } from "./stableProvider";
export type { NamespaceType } from "../src/ns/types";
export type { CgroupLimits, NormalizedLimits } from "../src/cgroup/spec";
export type { DeviceRule, DevicePolicy } from "../src/cgroup/devicePolicy";
export type { CgroupPaths } from "../src/cgroup/driver";
export type { SeccompProfileInput } from "../src/seccomp/profile";
export type { TargetArch } from "../src/seccomp/resolve";

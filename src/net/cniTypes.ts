// The CNI 1.0 wire types hostform reads and writes (SPEC.md sections 1 and 5), only the fields it uses.

/** The cniVersion hostform speaks; containernetworking-plugins 1.1 supports it. */
export const CNI_VERSION = "1.0.0";

/** One plugin entry of a network configuration list. */
export interface CniPluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

/** A network configuration list (conflist). */
export interface CniConfList {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  plugins: CniPluginConf[];
}

export interface CniInterface {
  name: string;
  mac?: string;
  /** The netns path for interfaces inside the container; absent for the host's. */
  sandbox?: string;
}

export interface CniIpConfig {
  /** CIDR form: "10.89.0.2/24". */
  address: string;
  gateway?: string;
  /** Index into interfaces. */
  interface?: number;
}

/** An ADD result. */
export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIpConfig[];
  routes?: { dst: string; gw?: string }[];
  dns?: { nameservers?: string[]; domain?: string; search?: string[]; options?: string[] };
}

/** A published port, as the portmap plugin takes it in runtimeConfig.portMappings. */
export interface CniPortMapping {
  hostPort: number;
  containerPort: number;
  protocol: "tcp" | "udp";
  hostIP?: string;
}

/** What the runtime passes for the capabilities its plugins declare. */
export interface CniRuntimeConfig {
  portMappings?: CniPortMapping[];
  /** Addresses to ask IPAM for (host-local honours it: a static IP, or the same one again on repair). */
  ips?: string[];
}

/** One container on one network: the attachment the CNI spec keys everything by. */
export interface CniAttachment {
  containerId: string;
  /** Path of the container's network namespace (a pin, or /proc/<pid>/ns/net). */
  netns: string;
  ifname: string;
  runtimeConfig?: CniRuntimeConfig;
}

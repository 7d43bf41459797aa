// `hostform-runtime features`: what this runtime implements, in the JSON shape of runc's `features`
// (runtime-spec features.md), which podman 5, containerd 2 and CRI-O read to probe a runtime. Every
// list says what hostform really honours, not what it would accept and drop.
import { CAPABILITIES } from "../sys/constants";
import { UnsupportedError } from "../sys/errors";
import { libseccompVersion, seccompArchResolveName } from "../sys/libseccomp";
import { OCI_NAMESPACE_TYPES } from "../sys/namespaces";
import { SECCOMP_ACTIONS, SECCOMP_ARCHITECTURES, SECCOMP_OPERATORS } from "../seccomp/profile";
import { MOUNT_FLAG_OPTIONS } from "./spec";
import { HOOK_PHASES } from "./specHooks";

/** The version `hostform-runtime --version` prints. */
export const RUNTIME_VERSION = "0.1.0";

export interface FeaturesDocument {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks: string[];
  mountOptions: string[];
  linux: {
    namespaces: string[];
    capabilities: string[];
    cgroup: { v1: boolean; v2: boolean; systemd: boolean; systemdUser: boolean };
    seccomp: { enabled: boolean; actions?: string[]; operators?: string[]; archs?: string[] };
    apparmor: { enabled: boolean };
    selinux: { enabled: boolean };
  };
  annotations: Record<string, string>;
}

/** libseccomp's version and the architectures it can add to a filter; undefined when it cannot be loaded. */
function seccompSupport(): { version: string; archs: string[] } | undefined {
  let v: { major: number; minor: number; micro: number };
  try {
    v = libseccompVersion();
  } catch (err) {
    // No libseccomp on the host: seccomp is disabled, which is the answer asked for.
    if (err instanceof UnsupportedError) return undefined;
    throw err;
  }
  const archs = SECCOMP_ARCHITECTURES.filter((a) => seccompArchResolveName(a.slice("SCMP_ARCH_".length).toLowerCase()) !== 0);
  return { version: `${v.major}.${v.minor}.${v.micro}`, archs: [...archs].sort() };
}

/** The features document (sorted lists, as runc prints them). */
export function featuresDocument(): FeaturesDocument {
  const seccomp = seccompSupport();
  const annotations: Record<string, string> = { "org.hostform.runtime.version": RUNTIME_VERSION };
  if (seccomp !== undefined) annotations["io.github.seccomp.libseccomp.version"] = seccomp.version;
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: "1.0.2",
    hooks: [...HOOK_PHASES],
    mountOptions: [...MOUNT_FLAG_OPTIONS].sort(),
    linux: {
      // The namespace table has no user or time namespace: validateSpec refuses both.
      namespaces: [...OCI_NAMESPACE_TYPES].sort(),
      capabilities: Object.entries(CAPABILITIES).sort((a, b) => a[1] - b[1]).map(([name]) => name),
      // cgroupfs on either version; no systemd driver.
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
      seccomp:
        seccomp === undefined
          ? { enabled: false }
          : { enabled: true, actions: [...SECCOMP_ACTIONS].sort(), operators: Object.keys(SECCOMP_OPERATORS).sort(), archs: seccomp.archs },
      apparmor: { enabled: false },
      selinux: { enabled: false },
    },
    annotations,
  };
}

// The container's root: a private copy of the mount tree, the rootfs bound onto itself, the spec's
// mounts and /dev nodes inside it, then pivot_root into it with the host's root detached.
import * as libc from "../../sys/libc";
import { CLONE_NEWNS, MNT_DETACH, MS_BIND, MS_REC, MS_SLAVE } from "../../sys/constants";
import { createDevices, createSpecDevices } from "./devices";
import { mountInRoot } from "./mounts";
import { ownsCgroupNamespace } from "./namespaces";
import { keepsHostLink, makeRootfsParentPrivate, rootPropagationFlags } from "./rootPropagation";
import { step } from "./steps";
import type { ContainerSpec } from "../spec";

/**
 * Builds the root in this (new) mount namespace and moves into it: "/" is the rootfs afterwards.
 * beforePivot runs once every mount and device node is in place, while the host's tree is still
 * reachable (where runc runs the createContainer hooks).
 */
export function buildRoot(spec: ContainerSpec, beforePivot?: () => void, idmapFds?: Record<number, number>): void {
  const rootfs = spec.root.path;
  // Its own mount namespace, copied from the host's view now, when the spec is here: a root, overlay
  // or bind source mounted on the host a moment ago is in it (the spawn worker leaves the mount
  // namespace to the init, see spawnWorker.ts). libuv's pool threads keep the old one until
  // execve, so the init does only synchronous file work from here on.
  step("new mount namespace", () => libc.unshare(CLONE_NEWNS));
  // By default nothing mounted from here on propagates back to the host's mount namespace; a
  // linux.rootfsPropagation of (r)slave or (r)shared keeps that link, as runc does.
  const propagation = spec.linux?.rootfsPropagation;
  step(`make / ${propagation ?? "rprivate"}`, () => libc.mount(null, "/", null, rootPropagationFlags(propagation)));
  if (keepsHostLink(propagation)) step("make rootfs parent private", () => makeRootfsParentPrivate(rootfs));
  // pivot_root needs the new root to be a mount point.
  step("bind rootfs", () => libc.mount(rootfs, rootfs, null, MS_BIND | MS_REC));
  const ownCgroupNs = ownsCgroupNamespace(spec);
  for (const [i, m] of (spec.mounts ?? []).entries()) step(`mount ${m.destination}`, () => mountInRoot(rootfs, m, ownCgroupNs, idmapFds?.[i]));
  // As runc: the spec's nodes first (one of a default's path replaces it), unless /dev is the host's bound in.
  const devBound = spec.mounts?.some((m) => m.destination === "/dev" && (m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind"))) === true;
  const own = spec.linux?.devices ?? [];
  if (own.length > 0 && !devBound) step("create linux.devices nodes", () => createSpecDevices(rootfs, own));
  if (spec.mounts?.some((m) => m.destination === "/dev") === true) step("create /dev nodes", () => createDevices(rootfs));
  beforePivot?.();
  step("pivot_root", () => {
    libc.chdir(rootfs);
    // pivot_root(".", ".") stacks the old root under the new one; detaching "." then drops it
    // without needing a directory for it inside the rootfs.
    libc.pivotRoot(".", ".");
    // A slave first: with a shared root, detaching the old one would unmount the host's mounts.
    libc.mount(null, ".", null, MS_SLAVE | MS_REC);
    libc.umount2(".", MNT_DETACH);
    libc.chdir("/");
  });
}

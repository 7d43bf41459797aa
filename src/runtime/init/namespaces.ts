// Namespaces the init enters itself: those a container joins by path (through fds the launcher
// opened), a new cgroup namespace once the init sits in its cgroup, and, in exec mode, the
// running container's mount namespace.
import { closeSync } from "node:fs";
import * as libc from "../../sys/libc";
import { CLONE_FS, CLONE_NEWCGROUP, CLONE_NEWNS } from "../../sys/constants";
import { ValidationError } from "../../sys/errors";
import { cloneFlag } from "../../sys/namespaces";
import * as initSys from "../../sys/process";
import { INIT_LAUNCHER_PIDFD, INIT_TARGET_PIDFD, type PrepareRequest } from "../initProtocol";
import type { ContainerSpec } from "../spec";

/** True when the spec asks for a new cgroup namespace (not a joined one). */
export function ownsCgroupNamespace(spec: ContainerSpec): boolean {
  return spec.linux?.namespaces?.some((n) => n.type === "cgroup" && n.path === undefined) === true;
}

/** True when the spec has a user namespace: nsspawn then made or joined every namespace but mount and cgroup's own. */
export function hasUserNamespace(spec: ContainerSpec): boolean {
  return spec.linux?.namespaces?.some((n) => n.type === "user") === true;
}

/** Joins the spec's namespaces given by path, then unshares a new cgroup namespace if asked for one. */
export function joinNamespaces(spec: ContainerSpec, joinFds: PrepareRequest["joinFds"]): void {
  // With a user namespace every path was joined by nsspawn before this process existed: from in
  // here, the host's namespaces could not be (setns needs CAP_SYS_ADMIN over their owner).
  const joined = hasUserNamespace(spec);
  // A joined pid namespace was entered by the spawning worker (it is fixed at fork). The rest come
  // as launcher fds, copied here. A joined mount namespace is where buildRoot later makes its
  // private copy: the container sees that namespace's mounts, and changes none of them.
  for (const ns of spec.linux?.namespaces ?? []) {
    if (joined || ns.path === undefined || ns.type === "pid" || ns.type === "user") continue;
    const launcherFd = joinFds?.[ns.type];
    if (launcherFd === undefined) throw new ValidationError("linux.namespaces", `joining a ${ns.type} namespace is not supported`);
    const fd = initSys.pidfdGetfd(INIT_LAUNCHER_PIDFD, launcherFd);
    try {
      // setns(CLONE_NEWNS) needs a thread whose root and cwd no other thread shares.
      if (ns.type === "mount") libc.unshare(CLONE_FS);
      libc.setns(fd, cloneFlag(ns.type), ns.path);
    } finally {
      closeSync(fd);
    }
  }
  // Unshared only now, after the launcher placed this process in its cgroup: the new cgroup
  // namespace is rooted at the container's own cgroup, as in runc.
  if (ownsCgroupNamespace(spec)) libc.unshare(CLONE_NEWCGROUP);
}

/** Exec mode: enters the mount namespace (and so the root and cwd) of the container behind INIT_TARGET_PIDFD. */
export function joinContainerMountNamespace(): void {
  // setns(CLONE_NEWNS) fails with EINVAL while other threads share the caller's fs_struct (root,
  // cwd); unshare(CLONE_FS) gives this thread its own, after which the join succeeds. The new
  // root and cwd are the container's, its /proc included.
  libc.unshare(CLONE_FS);
  libc.setns(INIT_TARGET_PIDFD, CLONE_NEWNS, "container mount namespace");
}

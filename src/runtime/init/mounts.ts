// The spec's mounts, each made inside the rootfs before pivot_root: bind mounts (with the remount
// their flags need), filesystems (proc, tmpfs, sysfs, devpts, mqueue) and the "cgroup" mount.
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import * as libc from "../../sys/libc";
import { setMountAttrRecursive } from "../../sys/mountAttr";
import { MS_BIND, MS_RDONLY, MS_REC, MS_REMOUNT } from "../../sys/constants";
import { NotFoundError, SysError, ValidationError } from "../../sys/errors";
import { cgroupPathIn, hostHierarchies, type HostHierarchy } from "../../cgroup/hierarchies";
import { cgroupsOf } from "../../cgroup/membership";
import { resolveInRoot } from "../rootPath";
import { copyUpInto, openCovered } from "./copyUp";
import { parseMountOptions, type MountOptions } from "./mountOptions";
import { remountBind } from "./remount";
import { copyLauncherFd } from "./stdio";
import { attachTree } from "../../sys/idmapMount";
import type { MountSpec } from "../spec";

/**
 * A "cgroup" mount (runc's default config has one at /sys/fs/cgroup): the host's layout again,
 * showing only the container's own cgroup. In a new cgroup namespace each hierarchy is mounted
 * afresh (its root is then the container's cgroup); without one, the container's cgroup directory
 * of each hierarchy is bound there, as runc does, since a fresh mount would show the whole host.
 */
function mountCgroups(dest: string, o: MountOptions, ownNamespace: boolean): void {
  const { unifiedOnly, hierarchies } = hostHierarchies();
  const memberships = ownNamespace ? [] : cgroupsOf("self");
  const mountHierarchy = (h: HostHierarchy, target: string): void => {
    if (ownNamespace) {
      libc.mount(h.type, target, h.type, o.flags, h.data === "" ? null : h.data);
      return;
    }
    const path = cgroupPathIn(h, memberships);
    if (path === undefined) throw new NotFoundError("cgroup", `of this process in /sys/fs/cgroup/${h.name}`, "/proc/self/cgroup does not list it");
    libc.mount(join("/sys/fs/cgroup", h.name, path), target, null, MS_BIND);
    remountBind(target, o.flags);
  };
  if (unifiedOnly) {
    mountHierarchy({ name: "", type: "cgroup2", data: "" }, dest);
    return;
  }
  // The tmpfs stays writable, as in runc: it is the container's own, and "ro" applies to the
  // hierarchies. A hybrid host's cgroup2 "unified" is left out, as runc does.
  libc.mount("tmpfs", dest, "tmpfs", o.flags & ~MS_RDONLY, "mode=755");
  for (const h of hierarchies) {
    if (h.type === "cgroup2") continue;
    const target = join(dest, h.name);
    mkdirSync(target);
    mountHierarchy(h, target);
  }
}

/** Makes the mount point of a bind of `source`: a directory, or an empty file for a file. */
function bindTarget(source: string, dest: string): void {
  if (statSync(source).isDirectory()) mkdirSync(dest, { recursive: true });
  else if (!existsSync(dest)) {
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, "");
  }
}

function bindMount(source: string, dest: string, o: MountOptions): void {
  bindTarget(source, dest);
  libc.mount(source, dest, null, MS_BIND | (o.recursive ? MS_REC : 0));
  // Flags on a bind mount only take effect through a remount of it.
  if ((o.flags & ~MS_REMOUNT) !== 0) remountBind(dest, o.flags & ~MS_REMOUNT);
}

/**
 * Makes one of the spec's mounts under `rootfs` (still the host path). The destination is resolved
 * inside the rootfs, so a symlink there cannot point the mount outside it.
 */
export function mountInRoot(rootfs: string, m: MountSpec, ownCgroupNamespace: boolean, idmapLauncherFd?: number): void {
  const dest = resolveInRoot(rootfs, m.destination);
  const o = parseMountOptions(m);
  // validateSpec already requires a bind source and a type otherwise; the two guards below only
  // spare non-null assertions.
  if (m.type === "cgroup" || m.type === "cgroup2") {
    mkdirSync(dest, { recursive: true });
    mountCgroups(dest, o, ownCgroupNamespace);
  } else if (o.bind && o.idmap !== undefined) {
    if (m.source === undefined || idmapLauncherFd === undefined) throw new ValidationError("mounts", `the ID-mapped mount on ${m.destination} has no mapped tree`, "the launcher makes it (PrepareRequest.idmapFds)");
    // The launcher mapped the source (only root of its filesystem's user namespace may); attached
    // here, then given its flags like any bind.
    bindTarget(m.source, dest);
    attachTree(copyLauncherFd(idmapLauncherFd), dest);
    if ((o.flags & ~MS_REMOUNT) !== 0) remountBind(dest, o.flags & ~MS_REMOUNT);
  } else if (o.bind) {
    if (m.source === undefined) throw new ValidationError("mounts", `the bind mount on ${m.destination} has no source`, "set its source");
    bindMount(m.source, dest, o);
  } else {
    if (m.type === undefined) throw new ValidationError("mounts", `the mount on ${m.destination} has no type`, "set its type or a bind option");
    mkdirSync(dest, { recursive: true });
    // runc copies up into tmpfs mounts only; on other types the option has no effect.
    const covered = o.copyUp && m.type === "tmpfs" ? openCovered(dest) : undefined;
    // A read-only tmpfs is filled first, then made read-only.
    const fillFirst = covered !== undefined && (o.flags & MS_RDONLY) !== 0;
    try {
      libc.mount(m.source ?? m.type, dest, m.type, fillFirst ? o.flags & ~MS_RDONLY : o.flags, o.data);
    } catch (err) {
      // A sysfs may only be mounted by root of the user namespace that owns the network namespace:
      // in a user namespace with the host's (or a host-made) network namespace, runc binds the
      // host's /sys instead, and so does this.
      if (!(m.type === "sysfs" && err instanceof SysError && err.code === "EPERM")) throw err;
      bindMount("/sys", dest, { ...o, recursive: true });
    }
    if (covered !== undefined) copyUpInto(covered, dest, m.destination);
    if (fillFirst) libc.mount(null, dest, null, MS_REMOUNT | o.flags, o.data);
  }
  for (const p of o.propagation) libc.mount(null, dest, null, p);
  if (o.recursiveSet !== 0 || o.recursiveClear !== 0) setMountAttrRecursive(dest, o.recursiveSet, o.recursiveClear);
}

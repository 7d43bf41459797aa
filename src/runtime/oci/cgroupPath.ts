// linux.cgroupsPath as hostform-runtime places a container: an absolute path is taken from the
// hierarchies' roots in every hierarchy, as runc's cgroupfs manager does (podman gives
// /libpod_parent/libpod-<id>, containerd /<namespace>/<id>). Without one, the container goes under
// hostform's own parent, where hostform keeps everything it makes.
import { ValidationError } from "../../sys/errors";
import { CGROUP_PARENT } from "../../sys/paths";
import { openCgroupDriver, type CgroupDriver } from "../../cgroup/driver";
import { cgroupSegments } from "../../cgroup/tree";
import type { ContainerSpec } from "../spec";

/** The container's cgroup, relative to the hierarchies' roots (for the driver ociCgroups() opens). */
export function ociCgroupName(spec: ContainerSpec, id: string): string {
  const path = spec.linux?.cgroupsPath;
  if (path === undefined || path === "") return `${CGROUP_PARENT}/${id}`;
  if (!path.startsWith("/")) {
    const systemd = /^[^/]*:[^/]*:[^/]*$/.test(path);
    throw new ValidationError(
      "linux.cgroupsPath",
      systemd ? `'${path}' is a systemd slice:prefix:name, which needs --systemd-cgroup` : `'${path}' is relative (runc would put it under its own cgroup)`,
      "give an absolute path such as /machine/<id>, or leave it out for /hostform/<id>",
    );
  }
  const name = path.replace(/^\/+/, "").replace(/\/+$/, "");
  if (name === "") throw new ValidationError("linux.cgroupsPath", "'/' is the root cgroup, which no container may take", "give a path below it, e.g. /machine/<id>");
  cgroupSegments(name, "linux.cgroupsPath");
  return name;
}

let driver: CgroupDriver | undefined;

/** The driver hostform-runtime uses: names from the hierarchies' roots. */
export function ociCgroups(): CgroupDriver {
  driver ??= openCgroupDriver(undefined, { parent: "" });
  return driver;
}

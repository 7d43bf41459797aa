// Turns a container's report into comparable sections. Everything that legitimately differs between
// two runs of the same config (mount ids, device numbers, the bundle's own path) is dropped here, and
// each runtime difference that is not a bug is normalized with the reason next to it.

/** The report's sections ("status", "hostname", "limits", "mounts", "probes") as lines. */
export function sections(report: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  let current = "";
  for (const line of report.split("\n")) {
    const m = /^==(\w+)$/.exec(line);
    if (m !== null) {
      current = m[1]!;
      out[current] = [];
    } else if (current !== "" && line !== "") {
      out[current]!.push(line.replace(/\s+$/, ""));
    }
  }
  return out;
}

/** One mountinfo line reduced to its shape: mount point, root within the fs, fs type, per-mount and fs options. */
export interface MountShape {
  mountPoint: string;
  root: string;
  fsType: string;
  options: string;
  superOptions: string;
}

/**
 * The mount table's shape, sorted by mount point. `readonlyPaths` are the config's
 * linux.readonlyPaths: runc 1.1 remounts them with MS_RDONLY alone, hostform adds
 * nosuid,nodev,noexec (stricter, and harmless on /proc files), so those three flags are dropped for
 * those mount points only.
 */
export function mountShape(lines: readonly string[], readonlyPaths: readonly string[]): MountShape[] {
  const shapes = lines.map((line) => {
    const f = line.split(" ");
    const dash = f.indexOf("-");
    const mountPoint = f[4]!;
    let options = f[5]!;
    if (readonlyPaths.includes(mountPoint)) options = options.split(",").filter((o) => !["nosuid", "nodev", "noexec"].includes(o)).join(",");
    // The root's source is each run's own bundle directory. A cgroup hierarchy's root is the cgroup
    // the process is in: each runtime's own naming and placement (compared in the cgroup section).
    const fsType = f[dash + 1]!;
    const root = mountPoint === "/" ? "<rootfs>" : fsType === "cgroup" || fsType === "cgroup2" ? "<cgroup>" : f[3]!;
    return { mountPoint, root, fsType, options, superOptions: f[dash + 3]! };
  });
  // runc applies readonlyPaths before maskedPaths, hostform the other way round; none of the
  // default paths nests in the other, so the order does not change what the container sees.
  return shapes.sort((a, b) => (a.mountPoint < b.mountPoint ? -1 : a.mountPoint > b.mountPoint ? 1 : 0));
}

// Where the CNI plugin binaries are: $HOSTFORM_CNI_PATH (colon-separated, as CNI_PATH), else the
// directories the distributions install them to.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { UnsupportedError } from "../sys/errors";

/** Debian's containernetworking-plugins, then the upstream tarball's location. */
const DEFAULT_DIRS = ["/usr/lib/cni", "/opt/cni/bin"];

/** The plugin search path: the directories that exist, in order. */
export function pluginDirs(): string[] {
  const configured = process.env.HOSTFORM_CNI_PATH;
  const dirs = configured !== undefined && configured !== "" ? configured.split(":") : DEFAULT_DIRS;
  return dirs.filter((d) => existsSync(d));
}

/** The executable of plugin `type`; fails naming the package that provides it. */
export function findPlugin(type: string, dirs: string[] = pluginDirs()): string {
  for (const d of dirs) {
    const p = join(d, type);
    if (existsSync(p)) return p;
  }
  const searched = process.env.HOSTFORM_CNI_PATH !== undefined ? `HOSTFORM_CNI_PATH=${process.env.HOSTFORM_CNI_PATH}` : DEFAULT_DIRS.join(", ");
  throw new UnsupportedError(`CNI plugin "${type}" not found (searched ${searched}); install the CNI reference plugins: apt-get install containernetworking-plugins`);
}

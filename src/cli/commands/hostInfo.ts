import { accessSync, constants as fsConstants } from "node:fs";
import { delimiter, join } from "node:path";
import { release, machine } from "node:os";
import { type Command, parseFlags, printJson } from "../command";
import { detectLayout, type CgroupLayout } from "../../cgroup/layout";
import { libseccompVersion } from "../../sys/libseccomp";

/** What `hostform host info` reports; the JSON form is this object as is. */
export interface HostInfo {
  kernel: { release: string; machine: string };
  node: string;
  cgroup: CgroupLayout;
  libseccomp: string | { error: string };
  tools: Record<string, string | null>;
}

function which(name: string): string | null {
  for (const dir of (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(delimiter)) {
    const p = join(dir, name);
    try {
      accessSync(p, fsConstants.X_OK);
      return p;
    } catch {
      // Absent or not executable here: the next PATH entry decides, as the shell's lookup does.
    }
  }
  return null;
}

export function hostInfo(): HostInfo {
  let seccomp: HostInfo["libseccomp"];
  try {
    const v = libseccompVersion();
    seccomp = `${v.major}.${v.minor}.${v.micro}`;
  } catch (err) {
    seccomp = { error: (err as Error).message };
  }
  const tools: Record<string, string | null> = {};
  for (const t of ["nsenter", "unshare", "runc", "crun", "busybox"]) tools[t] = which(t);
  return {
    kernel: { release: release(), machine: machine() },
    node: process.version,
    cgroup: detectLayout(),
    libseccomp: seccomp,
    tools,
  };
}

function render(info: HostInfo): string {
  const l = info.cgroup;
  const lines = [
    `kernel:      ${info.kernel.release} (${info.kernel.machine})`,
    `node:        ${info.node}`,
    `cgroups:     ${l.mode}${l.unifiedMount !== undefined ? ` (cgroup2 at ${l.unifiedMount})` : ""}`,
  ];
  if (l.unifiedMount !== undefined) {
    lines.push(`  v2 controllers: ${l.v2Controllers.length > 0 ? l.v2Controllers.join(" ") : "(none)"}`);
  }
  const v1 = Object.entries(l.v1Mounts);
  if (v1.length > 0) {
    lines.push("  v1 controllers:");
    for (const [ctrl, mount] of v1) lines.push(`    ${ctrl.padEnd(10)} ${mount}`);
  }
  lines.push(`libseccomp:  ${typeof info.libseccomp === "string" ? info.libseccomp : `unavailable: ${info.libseccomp.error}`}`);
  lines.push("tools:");
  for (const [name, path] of Object.entries(info.tools)) lines.push(`  ${name.padEnd(10)} ${path ?? "not found"}`);
  return lines.join("\n");
}

export const hostInfoCommand: Command = {
  name: "host info",
  summary: "Show the cgroup layout, kernel, libseccomp and tools hostform uses",
  usage: "Usage: hostform host info [--json]\n\nShows the cgroup layout (v2, v1 or hybrid) with each controller's mount point,\nthe kernel, the libseccomp version and whether nsenter/unshare are present.",
  async run(argv) {
    const { values } = parseFlags(argv, { json: { type: "boolean" } }, false);
    const info = hostInfo();
    if (values.json === true) printJson(info);
    else process.stdout.write(render(info) + "\n");
    return 0;
  },
};

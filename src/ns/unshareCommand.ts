// Sets without pid or mnt are made by util-linux's unshare(1) in one short process: it creates the
// namespaces and bind-mounts each onto its pin file before it exits (`unshare --net=<file>`). That
// takes about 10 ms, where starting a worker thread to unshare in takes 100-200 ms (bench/network:
// every Container with networks pins a network namespace of its own). A pid namespace needs a
// holder, and a mnt namespace the other pins detached inside it: those still go through the worker.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { HostformError, SysError } from "../sys/errors";
import type { NamespaceType } from "./types";

/** The types unshare(1) can pin by itself here. */
export const COMMAND_TYPES: readonly NamespaceType[] = ["net", "uts", "ipc", "cgroup"];

const OPTION: Partial<Record<NamespaceType, string>> = { net: "--net", uts: "--uts", ipc: "--ipc", cgroup: "--cgroup" };

/** True when unshare(1) can make the whole set. */
export function commandCanMake(types: readonly NamespaceType[]): boolean {
  return types.every((t) => COMMAND_TYPES.includes(t));
}

/**
 * Creates a namespace of each type and pins it at pins[type] (files made here, then bind-mounted
 * over by unshare(1)); with net, brings its lo up (`ip link set lo up` run inside). The caller
 * removes the pins on failure (some may be mounted already).
 */
export async function unshareToPins(pins: Partial<Record<NamespaceType, string>>, loopbackUp: boolean): Promise<void> {
  const args: string[] = [];
  for (const [type, file] of Object.entries(pins) as Array<[NamespaceType, string]>) {
    try {
      writeFileSync(file, "", { flag: "wx", mode: 0o444 });
    } catch (err) {
      throw SysError.fromNode(err, `create pin file ${file}`);
    }
    args.push(`${OPTION[type]!}=${file}`);
  }
  const inside = loopbackUp ? ["ip", "link", "set", "lo", "up"] : ["true"];
  await new Promise<void>((resolve, reject) => {
    const child = spawn("unshare", [...args, "--", ...inside], { env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" }, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", (e) => reject(new HostformError(`could not run unshare(1) (util-linux): ${e.message}`, { cause: e })));
    child.on("close", (code, signal) => {
      if (code === 0) resolve();
      else reject(new HostformError(`unshare ${args.join(" ")} -- ${inside.join(" ")} ${signal !== null ? `was killed by ${signal}` : `exited with ${code}`}: ${err.trim()}`));
    });
  });
}

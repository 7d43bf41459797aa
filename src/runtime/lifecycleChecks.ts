// Checks create runs before anything is made: a missing rootfs, a program not in the rootfs. The
// init reports these too when it builds the container (Launcher.prepare), but only after a cgroup,
// a state directory and an init exist; checked here, a bad config fails fast with nothing made.
import { statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { ValidationError, hasCode } from "../sys/errors";
import { programCandidates } from "./programSearch";
import { describeRoot, findInRoot, type RootSource } from "./layeredRoot";
import type { ContainerSpec } from "./spec";

function isExecutableFile(hostPath: string): boolean {
  try {
    const st = statSync(hostPath);
    return st.isFile() && (st.mode & 0o111) !== 0;
  } catch (err) {
    if (hasCode(err, "ENOENT") || hasCode(err, "ENOTDIR") || hasCode(err, "ELOOP")) return false;
    throw err;
  }
}

/** Root path made absolute against the bundle; throws ValidationError("root.path") if it is not a directory. */
export function checkRoot(spec: ContainerSpec, bundle: string): string {
  const root = isAbsolute(spec.root.path) ? spec.root.path : resolve(bundle, spec.root.path);
  let dir = false;
  try {
    dir = statSync(root).isDirectory();
  } catch (err) {
    if (!hasCode(err, "ENOENT") && !hasCode(err, "ENOTDIR")) throw err;
    throw new ValidationError("root.path", `'${root}' does not exist`, "point it at an unpacked root filesystem");
  }
  if (!dir) throw new ValidationError("root.path", `'${root}' is not a directory`, "point it at an unpacked root filesystem");
  return root;
}

/**
 * Throws ValidationError("process.args[0]") when the program cannot be found in the rootfs. Paths
 * under a mount destination are not checked: the mount may bring the program.
 */
export function checkProgram(spec: ContainerSpec, root: RootSource): void {
  const prog = spec.process.args[0];
  if (prog === undefined) throw new ValidationError("process.args", "is empty", "give the program to run");
  const mounted = (p: string) => (spec.mounts ?? []).some((m) => m.type === "bind" && (p === m.destination || p.startsWith(`${m.destination.replace(/\/$/, "")}/`)));
  for (const c of programCandidates(spec)) {
    if (mounted(c)) return;
    const host = findInRoot(root, c);
    if (host !== undefined && isExecutableFile(host)) return;
  }
  throw new ValidationError("process.args[0]", `'${prog}' was not found in the container's root filesystem ${describeRoot(root)}`, "install it in the rootfs or fix the path");
}

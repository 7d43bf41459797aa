// Where a container's program is looked for, as execvp does: a name with a slash is a path (relative
// to process.cwd), a bare name is searched in the spec's PATH, or in the default PATH every runtime
// uses when the spec sets none. create (lifecycleChecks) and the init search the same list.
import { posix } from "node:path";
import type { ContainerSpec } from "./spec";

/** The PATH runc, crun and Docker give a process whose environment has none. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The container paths execvp would try for process.args[0], in order. */
export function programCandidates(spec: ContainerSpec): string[] {
  const name = spec.process.args[0] ?? "";
  if (name.includes("/")) return [posix.isAbsolute(name) ? name : posix.join(spec.process.cwd, name)];
  const pathVar = spec.process.env?.find((e) => e.startsWith("PATH="))?.slice(5) ?? DEFAULT_PATH;
  return pathVar.split(":").filter((d) => d !== "").map((d) => posix.join(d, name));
}

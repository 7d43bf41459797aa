// Where hostform-runtime keeps its containers (runc's --root): one directory per container with
// its record and, until start, its exec fifo. Not the supervisor's run dir: containers driven
// through the OCI command line belong to their caller (podman's conmon, containerd's shim), never
// to hostform's supervisor, and the two must not list each other's.
import { join } from "node:path";

/** --root, else HOSTFORM_RUNTIME_ROOT, else /run/hostform-runtime (a tmpfs, gone with the boot like the containers). */
export function runtimeRoot(flag?: string): string {
  return flag ?? process.env.HOSTFORM_RUNTIME_ROOT ?? "/run/hostform-runtime";
}

export function ociContainerDir(root: string, id: string): string {
  return join(root, id);
}

export function ociRecordPath(root: string, id: string): string {
  return join(root, id, "state.json");
}

/** Exists from create until start: the prepared init blocks reading it (runc's exec.fifo). */
export function execFifoPath(root: string, id: string): string {
  return join(root, id, "exec.fifo");
}

/** The container's compiled seccomp filter, for exec to load into every new process. */
export function seccompFilterPath(root: string, id: string): string {
  return join(root, id, "seccomp.bpf");
}

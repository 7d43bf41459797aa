// The owner of a container. The create records it as a spec annotation, so it is part of the
// container from its first moment (no window in which the container exists without an owner). An
// import takes a container over by writing owner.json beside its state, which then wins over the
// annotation; both go away with the container's directory.
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CorruptFileError, hasCode, SysError } from "../sys/errors";
import { formatOwner, parseOwner, type Owner } from "../sys/owner";
import { containerDir, type ContainerState } from "./state";

/** Spec annotation holding the owner a container was created for. */
export const OWNER_ANNOTATION = "io.hostform.owner";

const OWNER_FILE = "owner.json";

/** The annotation value that records `owner`. */
export function ownerAnnotation(owner: Owner): Record<string, string> {
  return { [OWNER_ANNOTATION]: formatOwner(owner) };
}

/** Who owns the container: the takeover record if an import wrote one, else the create's annotation. */
export function containerOwner(state: ContainerState): Owner | undefined {
  const path = join(containerDir(state.id), OWNER_FILE);
  let text: string | undefined;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (!hasCode(err, "ENOENT")) throw SysError.fromNode(err, `read owner of container ${state.id}`);
  }
  if (text !== undefined) {
    const owner = parseOwner(text);
    if (owner === undefined) throw new CorruptFileError(path, "does not hold an owner ({stack, resource})");
    return owner;
  }
  const annotated = state.annotations[OWNER_ANNOTATION];
  return annotated !== undefined ? parseOwner(annotated) : undefined;
}

/** Records `owner` as the owner of the existing container `id` (atomically, like its state). */
export function setContainerOwner(id: string, owner: Owner): void {
  const path = join(containerDir(id), OWNER_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, `${formatOwner(owner)}\n`, { mode: 0o600 });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw SysError.fromNode(err, `record owner of container ${id}`);
  }
}


// userns "auto" for Containers and Namespace sets alike: the first 65536-id block of hostform's
// /etc/subuid and /etc/subgid range that no container and no namespace set maps. Their own
// records (container states, set metadata) say what is taken, so deleting either frees its block.
import { listNamespaces } from "../ns";
import { blockMappings, pickAutoRange } from "../ns/autoRange";
import type { IdMapping } from "../ns/idMapping";
import { autoBlocks } from "../ns/subordinateIds";
import { listStateIds, readState, type ContainerState } from "./state";

/** A container's state, or undefined when it cannot be read (it then holds no ids worth keeping apart). */
function readStateQuietly(id: string): ContainerState | undefined {
  try {
    return readState(id);
  } catch {
    return undefined;
  }
}

/** Every host id range a container or a namespace set maps. */
export function takenHostIds(): IdMapping[] {
  const containers = listStateIds().flatMap((id) => {
    const s = readStateQuietly(id);
    return [...(s?.spec.linux?.uidMappings ?? []), ...(s?.spec.linux?.gidMappings ?? [])];
  });
  const sets = listNamespaces().flatMap((set) => [...(set.idMappings?.uid ?? []), ...(set.idMappings?.gid ?? [])]);
  return [...containers, ...sets];
}

/** The mappings (the same for uids and gids) of the block userns "auto" hands out next. */
export function nextAutoMappings(): IdMapping[] {
  return blockMappings(pickAutoRange(autoBlocks(), takenHostIds()));
}

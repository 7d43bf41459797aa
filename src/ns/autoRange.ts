// Picking a container's ids for `userns: "auto"`: the first of hostform's 65536-id blocks
// (subordinateIds.ts) that no container's mapping touches. The containers' own state files are the
// record of what is taken, so a block is free again the moment its container's state is removed.
import { HostformError } from "../sys/errors";
import type { IdMapping } from "./idMapping";
import type { IdRange } from "./subordinateIds";

function overlaps(block: IdRange, m: IdMapping): boolean {
  return m.hostID < block.start + block.count && block.start < m.hostID + m.size;
}

/** The first block that none of `taken` (every container's uid and gid mappings) overlaps. */
export function pickAutoRange(blocks: readonly IdRange[], taken: readonly IdMapping[]): IdRange {
  const free = blocks.find((b) => !taken.some((m) => overlaps(b, m)));
  if (free === undefined) throw new HostformError(`userns "auto": all ${blocks.length} of hostform's id blocks are taken by containers; delete some, or give hostform a larger range in /etc/subuid and /etc/subgid`);
  return free;
}

/** A container's mapping of a block: its ids 0-65535 are the block's, for users and groups alike. */
export function blockMappings(block: IdRange): IdMapping[] {
  return [{ containerID: 0, hostID: block.start, size: block.count }];
}

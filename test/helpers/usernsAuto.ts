// Whether containers with userns "auto" can run here: an install the mapped ids can read, and
// hostform's range in /etc/subuid and /etc/subgid (scripts/setup adds it).
import { initUnreachable } from "../../src/runtime/initReach";
import { autoBlocks } from "../../src/ns/subordinateIds";

/** Why userns "auto" cannot be tested here, or false. */
export function autoUsernsUnavailable(): string | false {
  const unreachable = initUnreachable();
  if (unreachable !== false) return unreachable;
  try {
    autoBlocks();
    return false;
  } catch (err) {
    return (err as Error).message;
  }
}

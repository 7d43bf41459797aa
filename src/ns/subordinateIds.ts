// hostform's share of the host's ids for `userns: "auto"`: its entries in /etc/subuid and
// /etc/subgid ("hostform:<start>:<count>", the file format of subuid(5)), which scripts/setup adds
// as useradd adds one for podman's "containers". Containers get 65536-id blocks out of them.
import { readFileSync } from "node:fs";
import { NotFoundError, SysError, hasCode } from "../sys/errors";

/** The name hostform's subordinate id entries are under. */
export const SUBID_OWNER = "hostform";
/** Ids one container gets: the 16-bit range every Linux distribution's files assume. */
export const AUTO_RANGE_SIZE = 65536;

export interface IdRange {
  start: number;
  count: number;
}

/** The ranges `owner` has in a subuid(5)-format file's text. */
export function parseSubordinateIds(text: string, owner = SUBID_OWNER): IdRange[] {
  const out: IdRange[] = [];
  for (const line of text.split("\n")) {
    const [name, start, count] = line.trim().split(":");
    if (name !== owner || start === undefined || count === undefined) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isInteger(s) && Number.isInteger(c) && s >= 0 && c > 0) out.push({ start: s, count: c });
  }
  return out;
}

function readRanges(file: string): IdRange[] {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if (!hasCode(err, "ENOENT")) throw SysError.fromNode(err, `read ${file}`);
  }
  const ranges = parseSubordinateIds(text);
  if (!ranges.some((r) => r.count >= AUTO_RANGE_SIZE)) {
    throw new NotFoundError("subordinate id range", `for ${SUBID_OWNER} in ${file} (userns "auto" needs at least ${AUTO_RANGE_SIZE} ids)`, `run scripts/setup, or add a line "${SUBID_OWNER}:<start>:<count>" to /etc/subuid and /etc/subgid`);
  }
  return ranges;
}

/**
 * The blocks `userns: "auto"` may hand out: AUTO_RANGE_SIZE ids each, starting where both
 * hostform's uid and gid ranges have room (a container gets the same start for both).
 */
export function autoBlocks(subuid = "/etc/subuid", subgid = "/etc/subgid"): IdRange[] {
  const uids = readRanges(subuid);
  const gids = readRanges(subgid);
  const inAll = (start: number): boolean =>
    [uids, gids].every((list) => list.some((r) => start >= r.start && start + AUTO_RANGE_SIZE <= r.start + r.count));
  const out: IdRange[] = [];
  for (const r of uids) {
    for (let start = r.start; start + AUTO_RANGE_SIZE <= r.start + r.count; start += AUTO_RANGE_SIZE) {
      if (inAll(start)) out.push({ start, count: AUTO_RANGE_SIZE });
    }
  }
  return out;
}

// `exec --user U`: "uid[:gid]" or "name[:group]", resolved against the container's own
// /etc/passwd and /etc/group (the init reads them after joining the container's mount namespace,
// so a symlinked /etc/passwd can only point at the container's files, never the host's).
import { ValidationError } from "../sys/errors";
import type { UserSpec } from "./spec";

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 4 || line.startsWith("#")) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (Number.isInteger(uid) && Number.isInteger(gid)) out.push({ name: f[0] ?? "", uid, gid });
  }
  return out;
}

function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 3 || line.startsWith("#")) continue;
    const gid = Number(f[2]);
    if (Number.isInteger(gid)) out.push({ name: f[0]!, gid, members: (f[3] ?? "").split(",").filter((m) => m !== "") });
  }
  return out;
}

const NUMERIC = /^\d+$/;
const MAX_ID = 0xfffffffe;

function numericId(text: string, what: string): number {
  const n = Number(text);
  if (n > MAX_ID) throw new ValidationError("user", `${what} ${text} is out of range`);
  return n;
}

/**
 * Resolves an exec user against the container's passwd and group files (their texts; "" when the
 * file does not exist). Numeric ids need no entry (as with docker exec); names must exist. The
 * supplementary groups are those /etc/group lists the user in, as login(1) would set them.
 */
export function resolveExecUser(user: string, passwd: string, group: string): UserSpec {
  const parts = user.split(":");
  if (parts.length > 2 || parts[0] === "" || parts[1] === "") {
    throw new ValidationError("user", `'${user}' is not a user`, 'use "uid[:gid]" or "name[:group]"');
  }
  const [u, g] = parts as [string, string | undefined];
  const users = parsePasswd(passwd);
  const groups = parseGroup(group);
  let entry: PasswdEntry | undefined;
  let uid: number;
  if (NUMERIC.test(u)) {
    uid = numericId(u, "uid");
    entry = users.find((e) => e.uid === uid);
  } else {
    entry = users.find((e) => e.name === u);
    if (entry === undefined) throw new ValidationError("user", `'${u}' is not in the container's /etc/passwd`, "give a numeric uid or a user the image defines");
    uid = entry.uid;
  }
  let gid: number;
  if (g === undefined) gid = entry?.gid ?? 0;
  else if (NUMERIC.test(g)) gid = numericId(g, "gid");
  else {
    const ge = groups.find((e) => e.name === g);
    if (ge === undefined) throw new ValidationError("user", `group '${g}' is not in the container's /etc/group`, "give a numeric gid or a group the image defines");
    gid = ge.gid;
  }
  const additionalGids = entry === undefined ? [] : groups.filter((e) => e.members.includes(entry.name) && e.gid !== gid).map((e) => e.gid);
  return { uid, gid, additionalGids: [...new Set(additionalGids)] };
}

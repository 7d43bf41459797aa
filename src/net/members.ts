// The registry of network members and their name files, one directory each under
// runDir()/net/members/<key>/: member.json (the record) and hosts, resolv.conf, hostname, which are
// bind-mounted into the container. A member coming or going rewrites the hosts file of every member
// it shares a network with, so names stay current as on Docker's user-defined networks.
//
// Concurrency: everything here is synchronous, so calls within one process never interleave. Two
// processes (two `hostform up` of different stacks) are kept apart by an exclusive lock file; see
// withMembersLock.
import { closeSync, constants, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { atomicWrite } from "../sys/atomicFile";
import { withFileLockSync } from "../sys/fileLock";
import { CorruptFileError, hasCode, NotFoundError, SysError, withContext } from "../sys/errors";
import { runDir } from "../sys/paths";
import { hostDnsDefaults, parseResolvConf, renderHostname, renderHosts, renderResolvConf, validateMember, validateMemberKey, type NetworkMember, type ResolvConf } from "./nameFiles";

export type { MemberNetwork, NetworkMember, ResolvConf } from "./nameFiles";
export { validateMember } from "./nameFiles";

/** The files of one member; hosts, resolvConf and hostname are what the container bind-mounts. */
export interface MemberFiles {
  dir: string;
  hosts: string;
  resolvConf: string;
  hostname: string;
}

/** Where the host's resolver configuration is read from, for members that set no dns of their own. */
export interface HostResolvConf {
  path: string;
  /** systemd-resolved's list of upstream servers, read instead when `path` names only its stub. */
  systemdResolved: string;
}

export const HOST_RESOLV_CONF: HostResolvConf = { path: "/etc/resolv.conf", systemdResolved: "/run/systemd/resolve/resolv.conf" };

/** systemd-resolved's stub listener: only reachable from the host's own network namespace. */
const RESOLVED_STUB = "127.0.0.53";

/** How long a call waits for another process's lock before it gives up. */
const LOCK_WAIT_MS = 10_000;

export function membersDir(): string {
  return join(runDir(), "net", "members");
}

/** The lock file that keeps two processes from rewriting name files at once. */
export function membersLockPath(): string {
  return join(runDir(), "net", "members.lock");
}

export function memberFiles(key: string): MemberFiles {
  const dir = join(membersDir(), validateMemberKey(key));
  return { dir, hosts: join(dir, "hosts"), resolvConf: join(dir, "resolv.conf"), hostname: join(dir, "hostname") };
}

function recordPath(key: string): string {
  return join(membersDir(), key, "member.json");
}

function makeDir(dir: string, mode: number): void {
  try {
    mkdirSync(dir, { recursive: true, mode });
  } catch (err) {
    throw SysError.fromNode(err, `create ${dir}`);
  }
}

function readOptional(file: string, what: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    if (hasCode(err, "ENOENT")) return undefined;
    throw SysError.fromNode(err, `read ${what}`);
  }
}

/**
 * The host's resolv.conf as Docker reads it: when it lists only systemd-resolved's stub, the
 * servers behind the stub instead. A missing file reads as empty (the fallback servers then apply).
 */
export function readHostResolvConf(host: HostResolvConf = HOST_RESOLV_CONF): ResolvConf {
  const etc = parseResolvConf(readOptional(host.path, "the host's resolv.conf") ?? "");
  if (etc.nameservers.length > 0 && etc.nameservers.every((ip) => ip === RESOLVED_STUB)) {
    const upstream = readOptional(host.systemdResolved, "systemd-resolved's resolv.conf");
    if (upstream !== undefined) return parseResolvConf(upstream);
  }
  return etc;
}

/** The record of `key`; undefined when there is none. */
function readRecord(key: string): NetworkMember | undefined {
  const file = recordPath(key);
  const text = readOptional(file, `the record of network member ${key}`);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CorruptFileError(file, `is not valid JSON (${(err as Error).message}); remove the member and put it again`, { cause: err });
  }
  if (typeof value !== "object" || value === null) throw new CorruptFileError(file, "is not a member record; remove the member and put it again");
  const m = value as NetworkMember;
  try {
    validateMember(m);
  } catch (err) {
    throw new CorruptFileError(file, `is not a valid member record (${(err as Error).message}); remove the member and put it again`, { cause: err });
  }
  if (m.key !== key) throw new CorruptFileError(file, `holds the record of ${m.key}, not of ${key}; remove the member and put it again`);
  return m;
}

/** Members from their records, by key; with `network`, only those attached to it. */
export function listMembers(network?: string): NetworkMember[] {
  let keys: string[];
  try {
    keys = readdirSync(membersDir()).sort();
  } catch (err) {
    if (hasCode(err, "ENOENT")) return [];
    throw SysError.fromNode(err, "list network members");
  }
  const out: NetworkMember[] = [];
  for (const key of keys) {
    // A directory without a record is a member half put or half removed; its files are no one's yet.
    const m = readRecord(key);
    if (m !== undefined && (network === undefined || m.networks.some((n) => n.network === network))) out.push(m);
  }
  return out;
}

/**
 * Replaces the file's content keeping its inode: a file bind-mount pins the inode, so a file
 * replaced by rename would leave the container reading the old one. The new bytes are written over
 * the old ones before the file is cut to length, so a reader never finds it empty. Unchanged content
 * is not written at all. Returns whether it wrote.
 */
function writeInPlace(file: string, text: string): boolean {
  const data = Buffer.from(text);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
  } catch (err) {
    throw SysError.fromNode(err, `open ${file}`);
  }
  try {
    if (fstatSync(fd).size === data.length) {
      const old = Buffer.alloc(data.length);
      let got = 0;
      for (let n = -1; got < old.length && n !== 0; got += n) n = readSync(fd, old, got, old.length - got, got);
      if (old.equals(data)) return false;
    }
    for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off, off);
    ftruncateSync(fd, data.length);
    return true;
  } catch (err) {
    throw SysError.fromNode(err, `rewrite ${file} in place`);
  } finally {
    closeSync(fd);
  }
}

function writeFilesOf(m: NetworkMember, all: readonly NetworkMember[], host: HostResolvConf): MemberFiles {
  const files = memberFiles(m.key);
  makeDir(files.dir, 0o755);
  writeInPlace(files.hosts, renderHosts(m, all));
  writeInPlace(files.hostname, renderHostname(m));
  writeInPlace(files.resolvConf, renderResolvConf(m, hostDnsDefaults(readHostResolvConf(host))));
  return files;
}

/** Rewrites the hosts file of every member but `key` attached to one of `networks` (all members when undefined). */
function rewritePeers(key: string, networks: ReadonlySet<string> | undefined, all: readonly NetworkMember[]): void {
  const failed: Array<{ key: string; err: unknown }> = [];
  for (const p of all) {
    if (p.key === key || (networks !== undefined && !p.networks.some((n) => networks.has(n.network)))) continue;
    // One peer's failure must not keep the others stale: all are tried, the first failure is thrown.
    try {
      writeInPlace(memberFiles(p.key).hosts, renderHosts(p, all));
    } catch (err) {
      failed.push({ key: p.key, err });
    }
  }
  const first = failed[0];
  if (first !== undefined) throw withContext(first.err, `update the hosts file of ${failed.map((f) => f.key).join(", ")} after ${key} changed`);
}

function networkNames(m: NetworkMember | undefined): Set<string> {
  return new Set(m?.networks.map((n) => n.network) ?? []);
}

/**
 * The networks the member's current record attaches it to; undefined when the record cannot be
 * read: it is being replaced or removed anyway, and not knowing its peers, every member is updated.
 */
function previousNetworks(key: string): Set<string> | undefined {
  try {
    return networkNames(readRecord(key));
  } catch (err) {
    if (err instanceof CorruptFileError) return undefined;
    throw err;
  }
}

/**
 * Records the member and writes its three files, then rewrites the hosts file of every member that
 * shares a network with it, before or after this change (a member that left a network drops out of
 * that network's peers). The record is replaced atomically; the three files are rewritten in place.
 */
export function putMember(m: NetworkMember, host: HostResolvConf = HOST_RESOLV_CONF): MemberFiles {
  validateMember(m);
  return withMembersLock(`put network member ${m.key}`, () => {
    const before = previousNetworks(m.key);
    makeDir(memberFiles(m.key).dir, 0o755);
    atomicWrite(recordPath(m.key), `${JSON.stringify(m, null, 2)}\n`);
    const all = listMembers();
    const files = writeFilesOf(m, all, host);
    rewritePeers(m.key, before === undefined ? undefined : new Set([...before, ...networkNames(m)]), all);
    return files;
  });
}

/** Removes the member's record and files (nothing to remove is fine), then updates its peers' hosts files. */
export function removeMember(key: string): void {
  const files = memberFiles(key);
  withMembersLock(`remove network member ${key}`, () => {
    const networks = previousNetworks(key);
    // The record goes first: a crash in between leaves files that no listing shows and a retry removes.
    try {
      rmSync(recordPath(key), { force: true });
      rmSync(files.dir, { recursive: true, force: true });
    } catch (err) {
      throw SysError.fromNode(err, `remove ${files.dir}`);
    }
    rewritePeers(key, networks, listMembers());
  });
}

/** Rewrites the member's three files from the current records (after they were edited or removed out of band). */
export function refreshMember(key: string, host: HostResolvConf = HOST_RESOLV_CONF): MemberFiles {
  validateMemberKey(key);
  return withMembersLock(`refresh network member ${key}`, () => {
    const m = readRecord(key);
    if (m === undefined) throw new NotFoundError("network member", key, "put it first");
    return writeFilesOf(m, listMembers(), host);
  });
}

/**
 * Runs fn holding runDir()/net/members.lock (flock(2): the kernel drops it when its holder dies, so
 * no stale lock is left to detect). Calls are short (a few small files), so another holder is waited
 * for synchronously, at most LOCK_WAIT_MS.
 */
function withMembersLock<T>(what: string, fn: () => T): T {
  return withFileLockSync(membersLockPath(), what, LOCK_WAIT_MS, fn);
}

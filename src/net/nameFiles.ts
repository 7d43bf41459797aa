// What a container's /etc/hosts, /etc/hostname and /etc/resolv.conf say, as Docker's user-defined
// networks without their DNS server would: every member of a network is listed in the hosts file of
// every other member of that network. Pure: the registry (members.ts) reads and writes the files.
import { isIP } from "node:net";
import { ValidationError } from "../sys/errors";
import { parseIpv4 } from "./ipv4";

/** One attachment: the network's name and the member's IPv4 address on it (no prefix). */
export interface MemberNetwork {
  network: string;
  ip: string;
  /** Names only peers on this network resolve to the member (docker --network-alias). */
  aliases?: string[];
}

export interface NetworkMember {
  /** The attachment's id (a container id, a pod Namespace set name); names its directory. */
  key: string;
  /** What /etc/hostname holds and what the member's own IPs map to first. */
  hostname: string;
  /** Names peers on every shared network resolve to this member; the first is the canonical one. */
  names: string[];
  networks: MemberNetwork[];
  /** Nameservers; default: the host's (see hostDnsDefaults). */
  dns?: string[];
  /** Search domains; default: the host's. ["."] writes none, as with docker --dns-search=. */
  dnsSearch?: string[];
  /** resolv.conf options ("ndots:2"); default: the host's. */
  dnsOptions?: string[];
  /** "name:ip" entries added last (docker --add-host). */
  extraHosts?: string[];
}

/** The parts of a resolv.conf a member's own one is made of. */
export interface ResolvConf {
  nameservers: string[];
  search: string[];
  options: string[];
}

/**
 * Where Docker and podman send a container's queries when the host has no nameserver a container
 * can reach (only loopback ones, or none): Google's public resolvers. Set `dns` to avoid them.
 */
export const FALLBACK_NAMESERVERS: readonly string[] = ["8.8.8.8", "8.8.4.4"];

/** Docker's localhost block, so programs that look up ip6-localhost and friends find them. */
const LOCALHOST_LINES = [
  "127.0.0.1\tlocalhost",
  "::1\tlocalhost ip6-localhost ip6-loopback",
  "fe00::0\tip6-localnet",
  "ff00::0\tip6-mcastprefix",
  "ff02::1\tip6-allnodes",
  "ff02::2\tip6-allrouters",
];

const KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
/** What a resolv.conf option or search domain may hold: anything but blanks and comment marks. */
const RESOLV_WORD = /^[^\s#;]+$/;

/** A name a hosts file can hold: dotted labels of letters, digits, '_' and inner '-', not an address. */
function isHostName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && isIP(name) === 0 && name.split(".").every((l) => LABEL.test(l));
}

function checkName(field: string, name: unknown, what = "name"): void {
  if (typeof name !== "string" || !isHostName(name)) {
    throw new ValidationError(field, `${JSON.stringify(name)} is not a valid host ${what}`, "use dot-separated labels of 1-63 letters, digits, '_' or '-' (not at either end of a label)");
  }
}

function checkList(field: string, value: unknown, each: (field: string, item: unknown) => void): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) throw new ValidationError(field, "must be a list");
  value.forEach((item, i) => each(`${field}[${i}]`, item));
}

/** Splits docker's "name:ip" (the address may be IPv6 and hold colons itself); undefined when it is not one. */
export function parseExtraHost(entry: string): { name: string; ip: string } | undefined {
  const at = entry.indexOf(":");
  if (at <= 0) return undefined;
  const name = entry.slice(0, at);
  const ip = entry.slice(at + 1);
  return isHostName(name) && isIP(ip) !== 0 ? { name, ip } : undefined;
}

/** A member key names a directory under the run dir: starting with a letter or digit, it cannot be ".." or hidden. */
export function validateMemberKey(key: unknown, field = "key"): string {
  if (typeof key !== "string" || !KEY.test(key)) {
    throw new ValidationError(field, `${JSON.stringify(key)} is not a valid member key`, "use 1-128 characters of A-Z a-z 0-9 _ . - starting with a letter or digit");
  }
  return key;
}

/** Throws a ValidationError naming the first field that cannot go into the member's files. */
export function validateMember(m: NetworkMember): void {
  validateMemberKey(m.key);
  // The kernel keeps at most 64 bytes of hostname (HOST_NAME_MAX); a longer one cannot be the UTS name.
  checkName("hostname", m.hostname, "name");
  if (m.hostname.length > 64) throw new ValidationError("hostname", `"${m.hostname}" is longer than 64 characters`, "the kernel's limit for a hostname");
  checkList("names", m.names, (f, n) => checkName(f, n));
  if (!Array.isArray(m.networks)) throw new ValidationError("networks", "must be a list");
  const seen = new Set<string>();
  m.networks.forEach((n, i) => {
    const f = `networks[${i}]`;
    if (typeof n !== "object" || n === null) throw new ValidationError(f, "must be { network, ip, aliases? }");
    if (typeof n.network !== "string" || !/^[^\s/]+$/.test(n.network)) throw new ValidationError(`${f}.network`, `${JSON.stringify(n.network)} is not a network name`);
    if (seen.has(n.network)) throw new ValidationError(`${f}.network`, `${n.network} is listed twice`, "give one entry per network");
    seen.add(n.network);
    if (typeof n.ip !== "string" || parseIpv4(n.ip) === undefined) throw new ValidationError(`${f}.ip`, `${JSON.stringify(n.ip)} is not an IPv4 address`, 'write it without a prefix, e.g. "10.89.0.2"');
    checkList(`${f}.aliases`, n.aliases, (fa, a) => checkName(fa, a, "alias"));
  });
  checkList("dns", m.dns, (f, s) => {
    if (typeof s !== "string" || isIP(s) === 0) throw new ValidationError(f, `${JSON.stringify(s)} is not an IP address`, 'a nameserver is an IPv4 or IPv6 literal, e.g. "10.89.0.1"');
  });
  checkList("dnsSearch", m.dnsSearch, (f, d) => {
    if (d !== "." && (typeof d !== "string" || !isHostName(d))) throw new ValidationError(f, `${JSON.stringify(d)} is not a domain name`, 'e.g. "example.com", or "." for no search domains');
  });
  checkList("dnsOptions", m.dnsOptions, (f, o) => {
    if (typeof o !== "string" || !RESOLV_WORD.test(o)) throw new ValidationError(f, `${JSON.stringify(o)} is not a resolv.conf option`, 'one word per option, e.g. "ndots:2"');
  });
  checkList("extraHosts", m.extraHosts, (f, e) => {
    if (typeof e !== "string" || parseExtraHost(e) === undefined) {
      throw new ValidationError(f, `${JSON.stringify(e)} is not "name:ip"`, 'e.g. "db:10.89.0.5" or "v6host:fd00::5"; docker\'s "host-gateway" is not supported');
    }
  });
}

/** nameserver, search and options lines of a resolv.conf text; other lines and comments are ignored. */
export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { nameservers: [], search: [], options: [] };
  for (const line of text.split("\n")) {
    const [word, ...args] = line.replace(/[#;].*$/, "").trim().split(/\s+/);
    if (word === "nameserver" && args[0] !== undefined) out.nameservers.push(args[0]);
    // The last search (or domain) line wins, as in the resolver.
    else if (word === "search" || word === "domain") out.search = args;
    else if (word === "options") out.options.push(...args);
  }
  return out;
}

/** Loopback nameservers (127.0.0.0/8, ::1): in a container's own network namespace nothing answers there. */
function isLoopback(ip: string): boolean {
  return ip.startsWith("127.") || ip === "::1" || ip === "0:0:0:0:0:0:0:1";
}

/**
 * What a member gets when it sets no dns of its own, as Docker computes it from the host's
 * resolv.conf: its search and options, and its nameservers except loopback ones (unreachable from
 * the container) and IPv6 ones (member networks are IPv4 only, so a container has no route to
 * them). When none is left, Docker and podman fall back to FALLBACK_NAMESERVERS, and so does hostform.
 */
export function hostDnsDefaults(host: ResolvConf): ResolvConf {
  const usable = host.nameservers.filter((ip) => isIP(ip) === 4 && !isLoopback(ip));
  return { nameservers: usable.length > 0 ? usable : [...FALLBACK_NAMESERVERS], search: host.search, options: host.options };
}

/** The member's /etc/resolv.conf; each of dns, dnsSearch and dnsOptions it leaves unset comes from the host defaults. */
export function renderResolvConf(m: NetworkMember, defaults: ResolvConf): string {
  const search = m.dnsSearch ?? defaults.search;
  const lines = (m.dns ?? defaults.nameservers).map((ip) => `nameserver ${ip}`);
  if (search.length > 0 && !search.includes(".")) lines.push(`search ${search.join(" ")}`);
  const options = m.dnsOptions ?? defaults.options;
  if (options.length > 0) lines.push(`options ${options.join(" ")}`);
  return lines.map((l) => `${l}\n`).join("");
}

export function renderHostname(m: NetworkMember): string {
  return `${m.hostname}\n`;
}

function unique(names: readonly string[]): string[] {
  return [...new Set(names)];
}

function byName(a: MemberNetwork, b: MemberNetwork): number {
  return a.network < b.network ? -1 : a.network > b.network ? 1 : 0;
}

/** Names `m` answers to on network `n`: its names, then its aliases there. */
function namesOn(m: NetworkMember, n: MemberNetwork): string[] {
  return unique([...m.names, ...(n.aliases ?? [])]);
}

/**
 * The member's /etc/hosts: the localhost block, its own address on each network (hostname first),
 * then each peer on each shared network (a peer on two shared networks gets a line for each of its
 * addresses, as Docker writes it), then extraHosts in the order given. Lines are sorted by network
 * name and address so that the same records always give the same bytes; within a line, names keep
 * their declared order, because the first one is what a reverse lookup returns.
 */
export function renderHosts(self: NetworkMember, members: readonly NetworkMember[]): string {
  const lines = [...LOCALHOST_LINES];
  const own = [...self.networks].sort(byName);
  for (const n of own) lines.push(`${n.ip}\t${unique([self.hostname, ...namesOn(self, n)]).join(" ")}`);
  const peers = [...members].filter((p) => p.key !== self.key).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const n of own) {
    const onNetwork: Array<{ ip: number; line: string }> = [];
    for (const p of peers) {
      const at = p.networks.find((pn) => pn.network === n.network);
      if (at === undefined) continue;
      const names = namesOn(p, at);
      if (names.length > 0) onNetwork.push({ ip: parseIpv4(at.ip) ?? 0, line: `${at.ip}\t${names.join(" ")}` });
    }
    // A stable sort on the address keeps two peers claiming one address (a stale record) in key order.
    onNetwork.sort((a, b) => a.ip - b.ip);
    lines.push(...onNetwork.map((e) => e.line));
  }
  for (const entry of self.extraHosts ?? []) {
    const h = parseExtraHost(entry);
    if (h !== undefined) lines.push(`${h.ip}\t${h.name}`);
  }
  return lines.map((l) => `${l}\n`).join("");
}

// Whether the host ports a container asks for are free, before anything is attached: neither
// published by another hostform container nor held by a socket of any process.
//
// The sockets are read from /proc/net/{tcp,udp}[6] rather than probed by binding: reading has no
// side effect (a probe bind would hold the port for a moment, from a server starting just then),
// it tells a listener from a TIME_WAIT leftover (which makes a plain bind fail but does not clash
// with a DNAT rule), it works unchanged in another network namespace (`nsenter --net cat`, as
// /proc/net is the reader's namespace's), and its inode numbers name the owning process.
import { existsSync } from "node:fs";
import { readdir, readFile, readlink } from "node:fs/promises";
import { endianness } from "node:os";
import { basename } from "node:path";
import { hasCode, SysError, ValidationError } from "../sys/errors";
import { runNetCommand, type NetnsOptions } from "./netnsCommand";
import { formatPort, hostSide, portsOverlap, type Protocol, type PublishedPort } from "./portSpec";

/** A port hostform has already published; owner names who (a container) for the message. */
export type TakenPort = PublishedPort & { owner?: string };

/** A socket that would clash with a published port: its protocol, address (undefined: every address) and port. */
interface BoundSocket {
  protocol: Protocol;
  address?: string;
  port: number;
  inode: number;
}

/**
 * Throws a ValidationError naming `<field>[i].hostPort` for the first port that another hostform
 * container publishes (`taken`) or that a process holds in the namespace the ports will be
 * published in (options.hostNetns; the caller's by default).
 */
export async function assertHostPortsFree(ports: readonly PublishedPort[], taken: readonly TakenPort[], field = "ports", options: NetnsOptions = {}): Promise<void> {
  ports.forEach((p, i) => {
    const other = taken.find((t) => portsOverlap(p, t));
    if (other !== undefined) {
      const by = other.owner !== undefined ? `hostform container ${other.owner}` : "another hostform container";
      throw new ValidationError(`${field}[${i}].hostPort`, `${hostSide(p)} is already published by ${by} (${formatPort(other)})`, "pick another host port, or remove it from the other container");
    }
  });
  if (ports.length === 0) return;
  const sockets = await boundSockets(options);
  for (const [i, p] of ports.entries()) {
    const s = sockets.find((s) => clashes(p, s));
    if (s === undefined) continue;
    const owner = await socketOwner(s.inode);
    const held = `${s.address ?? "0.0.0.0"}:${s.port}/${s.protocol}`;
    throw new ValidationError(`${field}[${i}].hostPort`, `${hostSide(p)} is in use on the host (${held} is bound${owner !== undefined ? ` by ${owner}` : ""})`, "pick another host port, or stop what uses it");
  }
}

function clashes(p: PublishedPort, s: BoundSocket): boolean {
  return p.protocol === s.protocol && p.hostPort === s.port && (p.hostIp === undefined || s.address === undefined || s.address === p.hostIp);
}

const TABLES: Array<{ file: string; protocol: Protocol }> = [
  { file: "tcp", protocol: "tcp" },
  { file: "tcp6", protocol: "tcp" },
  { file: "udp", protocol: "udp" },
  { file: "udp6", protocol: "udp" },
];

/** The listening TCP and unconnected UDP sockets of the namespace that can take IPv4 traffic. */
async function boundSockets(options: NetnsOptions = {}): Promise<BoundSocket[]> {
  // IPv6 is on or off for the whole kernel, so the caller's /proc/net tells which tables exist.
  const tables = TABLES.filter((t) => existsSync(`/proc/net/${t.file}`));
  const texts = await Promise.all(tables.map((t) => readTable(t.file, options)));
  return tables.flatMap((t, i) => parseSocketTable(texts[i]!, t.protocol));
}

async function readTable(file: string, options: NetnsOptions): Promise<string> {
  const path = `/proc/net/${file}`;
  if (options.hostNetns !== undefined) return runNetCommand(["cat", path], options);
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw SysError.fromNode(err, "list the host's sockets");
  }
}

const TCP_LISTEN = "0A";

/**
 * Parses one /proc/net table. Only sockets a DNAT rule could shadow count: TCP listeners (an
 * established connection's replies follow conntrack, not the nat table) and unconnected UDP sockets.
 */
function parseSocketTable(text: string, protocol: Protocol): BoundSocket[] {
  const out: BoundSocket[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [local, remote, state, inode] = [f[1]!, f[2]!, f[3]!, f[9]!];
    if (protocol === "tcp" ? state !== TCP_LISTEN : !remote.endsWith(":0000")) continue;
    const [hexAddr, hexPort] = local.split(":") as [string, string];
    const address = ipv4Of(hexAddr);
    if (address === null) continue;
    const s: BoundSocket = { protocol, port: parseInt(hexPort, 16), inode: Number(inode) };
    if (address !== undefined) s.address = address;
    out.push(s);
  }
  return out;
}

/**
 * The IPv4 address a /proc/net address accepts: undefined for every address (0.0.0.0, and ::,
 * which takes IPv4 too unless IPV6_V6ONLY, which /proc does not show), null for an IPv6-only one.
 * The kernel prints each 32-bit word in host byte order.
 */
function ipv4Of(hex: string): string | undefined | null {
  const words = (hex.match(/.{8}/g) ?? []).map((w) => {
    const b = Buffer.alloc(4);
    if (endianness() === "LE") b.writeUInt32LE(parseInt(w, 16));
    else b.writeUInt32BE(parseInt(w, 16));
    return b;
  });
  const bytes = Buffer.concat(words);
  if (bytes.every((x) => x === 0)) return undefined;
  if (bytes.length === 4) return [...bytes].join(".");
  const mapped = bytes.subarray(0, 10).every((x) => x === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? [...bytes.subarray(12)].join(".") : null;
}

/** "pid 123 (nginx)" for the process holding the socket inode, if one can be seen. */
async function socketOwner(inode: number): Promise<string | undefined> {
  const link = `socket:[${inode}]`;
  for (const pid of (await readdir("/proc")).filter((d) => /^\d+$/.test(d))) {
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch (err) {
      if (unseen(err)) continue;
      throw SysError.fromNode(err, "find the process holding a port");
    }
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch((err: unknown) => {
        if (unseen(err)) return undefined;
        throw SysError.fromNode(err, "find the process holding a port");
      });
      if (target !== link) continue;
      // argv[0], as ps shows it: comm is the main thread's name, which some programs change (node's is "MainThread").
      const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch((err: unknown) => (unseen(err) ? "" : Promise.reject(SysError.fromNode(err, "find the process holding a port"))));
      const program = basename(cmdline.split("\0")[0] ?? "");
      return `pid ${pid}${program !== "" ? ` (${program})` : ""}`;
    }
  }
  return undefined;
}

/**
 * A process that cannot be looked into: it exited or closed the descriptor meanwhile, or it is
 * not ours to see (another user namespace, an LSM). Naming the owner is a courtesy; the port is
 * refused all the same.
 */
function unseen(err: unknown): boolean {
  return ["ENOENT", "ESRCH", "EACCES", "EPERM"].some((code) => hasCode(err, code));
}

// A Container's `ports` input: docker's -p strings or objects, checked and normalized to one shape,
// and that shape as docker ps prints it and as the portmap plugin takes it.
import { ValidationError } from "../sys/errors";
import type { CniPortMapping } from "./cniTypes";
import { formatIpv4, parseIpv4 } from "./ipv4";

export type Protocol = "tcp" | "udp";

/** One published port. hostIp undefined means every host address (docker's 0.0.0.0). */
export type PublishedPort = { hostPort: number; containerPort: number; protocol: Protocol; hostIp?: string };

const STRING_FORM = '"hostPort:containerPort", "hostIp:hostPort:containerPort", with "/tcp" or "/udp" optional, e.g. "127.0.0.1:8080:80/tcp"';
const OBJECT_KEYS = new Set(["hostPort", "containerPort", "protocol", "hostIp"]);

/** Checks and normalizes the `ports` input; absent means none. Errors name the entry and its field. */
export function parsePorts(value: unknown, field = "ports"): PublishedPort[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ValidationError(field, `must be a list, not ${typeof value}`, `e.g. ["127.0.0.1:8080:80/tcp"] or [{ hostPort: 8080, containerPort: 80 }]`);
  const ports = value.map((entry: unknown, i) => parseEntry(entry, `${field}[${i}]`));
  assertNoOverlap(ports, field);
  return ports;
}

function parseEntry(entry: unknown, field: string): PublishedPort {
  if (typeof entry === "string") return parseString(entry, field);
  if (typeof entry === "object" && entry !== null && !Array.isArray(entry)) return parseObject(entry as Record<string, unknown>, field);
  throw new ValidationError(field, `${JSON.stringify(entry)} is not a port`, `write ${STRING_FORM}, or { hostPort, containerPort, protocol?, hostIp? }`);
}

function parseObject(o: Record<string, unknown>, field: string): PublishedPort {
  for (const key of Object.keys(o)) {
    if (!OBJECT_KEYS.has(key)) throw new ValidationError(`${field}.${key}`, "is not a port field", "use hostPort, containerPort, protocol and hostIp");
  }
  return build(
    {
      hostPort: portNumber(o.hostPort, `${field}.hostPort`),
      containerPort: portNumber(o.containerPort, `${field}.containerPort`),
      protocol: protocol(o.protocol, `${field}.protocol`),
    },
    o.hostIp,
    `${field}.hostIp`,
  );
}

function parseString(text: string, field: string): PublishedPort {
  const [spec, proto, extra] = text.split("/");
  if (extra !== undefined || spec === undefined) throw new ValidationError(field, `"${text}" is not a port`, `write ${STRING_FORM}`);
  if (spec.startsWith("[")) throw new ValidationError(field, `"${text}" publishes on an IPv6 address`, "hostform publishes IPv4 only: give an IPv4 hostIp or none");
  const parts = spec.split(":");
  if (parts.length === 1) throw new ValidationError(field, `"${text}" gives no host port`, `hostform publishes explicitly: write "${spec}:${spec}" to publish it on the same host port`);
  if (parts.length > 3) throw new ValidationError(field, `"${text}" is not a port`, `write ${STRING_FORM}`);
  const [hostIp, hostPort, containerPort] = parts.length === 3 ? parts : [undefined, ...parts];
  if (spec.includes("-")) throw new ValidationError(field, `"${text}" is a port range`, "list each port on its own");
  if (hostPort === "") throw new ValidationError(field, `"${text}" leaves the host port to chance`, "give the host port: hostform publishes explicitly");
  return build(
    {
      hostPort: portNumber(numeric(hostPort), `${field}.hostPort`),
      containerPort: portNumber(numeric(containerPort), `${field}.containerPort`),
      protocol: protocol(proto, `${field}.protocol`),
    },
    hostIp,
    `${field}.hostIp`,
  );
}

function build(p: PublishedPort, hostIp: unknown, field: string): PublishedPort {
  const ip = address(hostIp, field);
  if (ip !== undefined) p.hostIp = ip;
  return p;
}

/** A decimal string as a number; anything else unchanged, for portNumber to refuse. */
function numeric(text: string | undefined): unknown {
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : text;
}

function portNumber(v: unknown, field: string): number {
  if (typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= 65535) return v;
  throw new ValidationError(field, `${JSON.stringify(v) ?? "nothing"} is not a port number`, "an integer from 1 to 65535");
}

function protocol(v: unknown, field: string): Protocol {
  if (v === undefined) return "tcp";
  if (v === "tcp" || v === "udp") return v;
  throw new ValidationError(field, `${JSON.stringify(v)} is not a protocol`, 'use "tcp" or "udp" (tcp when left out)');
}

/** hostIp: a unicast IPv4 address, canonical; "0.0.0.0" and absence both mean every address. */
function address(v: unknown, field: string): string | undefined {
  if (v === undefined || v === "" || v === "0.0.0.0") return undefined;
  const n = typeof v === "string" ? parseIpv4(v) : undefined;
  if (n === undefined) throw new ValidationError(field, `${JSON.stringify(v)} is not an IPv4 address`, 'e.g. "127.0.0.1", or leave it out for every address');
  if (n >>> 28 === 0xe || n === 0xffffffff) throw new ValidationError(field, `${v as string} is a multicast or broadcast address`, "publish on one of the host's own addresses");
  // Canonical, as iptables prints it back ("127.000.0.1" would read back as "127.0.0.1": false drift).
  return formatIpv4(n);
}

/** Whether two published ports claim the same host socket (every-address overlaps each address). */
export function portsOverlap(a: PublishedPort, b: PublishedPort): boolean {
  return a.protocol === b.protocol && a.hostPort === b.hostPort && (a.hostIp === undefined || b.hostIp === undefined || a.hostIp === b.hostIp);
}

function assertNoOverlap(ports: PublishedPort[], field: string): void {
  ports.forEach((p, j) => {
    const i = ports.findIndex((q) => portsOverlap(p, q));
    if (i < j) {
      throw new ValidationError(`${field}[${j}].hostPort`, `${hostSide(p)} is published twice: ${field}[${i}] (${formatPort(ports[i]!)}) and ${field}[${j}] (${formatPort(p)})`, "give each entry its own host port, address or protocol");
    }
  });
}

/** "127.0.0.1:8080/tcp": the host end alone, for messages. */
export function hostSide(p: PublishedPort): string {
  return `${p.hostIp ?? "0.0.0.0"}:${p.hostPort}/${p.protocol}`;
}

/** As docker ps shows it: "127.0.0.1:8080->80/tcp". */
export function formatPort(p: PublishedPort): string {
  return `${p.hostIp ?? "0.0.0.0"}:${p.hostPort}->${p.containerPort}/${p.protocol}`;
}

/** The ports as the portmap plugin's runtimeConfig.portMappings. */
export function toCniPortMappings(ports: readonly PublishedPort[]): CniPortMapping[] {
  return ports.map((p) => {
    const m: CniPortMapping = { hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol };
    if (p.hostIp !== undefined) m.hostIP = p.hostIp;
    return m;
  });
}

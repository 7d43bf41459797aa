// IPv4 addresses and subnets as numbers, for validating network declarations.
import { ValidationError } from "../sys/errors";

export interface Subnet {
  /** Canonical CIDR ("10.89.0.0/24": host bits cleared). */
  cidr: string;
  network: string;
  broadcast: string;
  prefix: number;
  /** The n-th address of the subnet (0 = network). */
  host(n: number): string;
  contains(address: string, field: string): boolean;
}

/** Parses a dotted quad; undefined when it is not one. */
export function parseIpv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (m === null) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Parses "a.b.c.d/len"; an address with host bits set is refused (say which subnet was meant). */
export function parseSubnet(text: string, field: string): Subnet {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  const base = m === null ? undefined : parseIpv4(m[1]!);
  const prefix = m === null ? NaN : Number(m[2]);
  if (base === undefined || !(prefix >= 0 && prefix <= 32)) throw new ValidationError(field, `"${text}" is not an IPv4 CIDR`, 'write it as address/prefix, e.g. "10.89.0.0/24"');
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const network = (base & mask) >>> 0;
  if (network !== base) throw new ValidationError(field, `${text} has host bits set`, `did you mean ${formatIpv4(network)}/${prefix}?`);
  const broadcast = (network | (~mask >>> 0)) >>> 0;
  return {
    cidr: `${formatIpv4(network)}/${prefix}`,
    network: formatIpv4(network),
    broadcast: formatIpv4(broadcast),
    prefix,
    host: (n) => formatIpv4((network + n) >>> 0),
    contains(address, f) {
      const a = parseIpv4(address);
      if (a === undefined) throw new ValidationError(f, `"${address}" is not an IPv4 address`);
      return ((a & mask) >>> 0) === network;
    },
  };
}

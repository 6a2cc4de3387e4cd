/**
 * IPv4 and IPv6 addresses and CIDR ranges for IpAddress / NotIpAddress. Both families live
 * in one 128-bit space, IPv4 as IPv4-mapped IPv6 (`::ffff:a.b.c.d`), so that a client that
 * Node reports as `::ffff:203.0.113.7` matches `203.0.113.0/24`. An IPv4 address never
 * matches a broad IPv6 range such as `::/0` (only ranges inside `::ffff:0:0/96`).
 */
import { isIPv4, isIPv6 } from 'node:net';

const ALL = (1n << 128n) - 1n;
const MAPPED = 0xffffn << 32n;

export interface Cidr {
  readonly text: string;
  /** Prefix length in the 128-bit space (an IPv4 /24 is 120). */
  readonly prefix: number;
  readonly base: bigint;
  readonly mask: bigint;
}

function v4(text: string): bigint {
  return text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function v6(text: string): bigint | null {
  let s = text;
  let embedded: string[] = [];
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    // An embedded IPv4 tail (`::ffff:192.0.2.1`) is two 16-bit groups.
    if (!isIPv4(last)) return null;
    const n = v4(last);
    embedded = [(n >> 16n).toString(16), (n & 0xffffn).toString(16)];
    s = s.slice(0, lastColon + 1);
    if (!s.endsWith('::')) s = s.slice(0, -1);
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  let groups: string[];
  if (halves.length === 2) {
    const fill = 8 - head.length - tail.length - embedded.length;
    if (fill < 1) return null;
    groups = [...head, ...Array<string>(fill).fill('0'), ...tail, ...embedded];
  } else {
    groups = [...head, ...embedded];
  }
  if (groups.length !== 8) return null;
  let n = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  return n;
}

/** An address in the unified 128-bit space, or null. Accepts `[v6]` and a `%zone` suffix, as request addresses may carry them. */
export function parseIp(text: string): bigint | null {
  let s = text.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone !== -1) s = s.slice(0, zone);
  if (isIPv4(s)) return MAPPED | v4(s);
  if (isIPv6(s)) return v6(s);
  return null;
}

/** `203.0.113.0/24`, `2001:DB8:1234:5678::/64`, or a bare address (/32 or /128, as IAM documents); null when malformed. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const addr = slash === -1 ? text : text.slice(0, slash);
  const len = slash === -1 ? undefined : text.slice(slash + 1);
  const isV4 = isIPv4(addr);
  if (!isV4 && !isIPv6(addr)) return null;
  const max = isV4 ? 32 : 128;
  let bits = max;
  if (len !== undefined) {
    if (!/^\d{1,3}$/.test(len)) return null;
    bits = Number(len);
    if (bits > max) return null;
  }
  const ip = isV4 ? MAPPED | v4(addr) : v6(addr);
  if (ip === null) return null;
  const prefix = isV4 ? 96 + bits : bits;
  const mask = prefix === 0 ? 0n : ALL ^ ((1n << BigInt(128 - prefix)) - 1n);
  return { text, prefix, base: ip & mask, mask };
}

export function cidrContains(cidr: Cidr, ip: bigint): boolean {
  if ((ip & ~0xffffffffn) === MAPPED && cidr.prefix < 96) return false;
  return (ip & cidr.mask) === cidr.base;
}

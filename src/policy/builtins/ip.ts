/**
 * IP addresses and prefixes as Go's `net` package parses and prints them (`net.ParseIP`,
 * `net.ParseCIDR`, `IP.String`), for OPA's `net.cidr_*` builtins. Addresses are held as a
 * bigint and a bit length (32 or 128).
 */

/** An address: its value and family width. */
export interface Ip {
  readonly value: bigint;
  readonly bits: 32 | 128;
}

/** A prefix `ip/len` with the host bits cleared, as `net.ParseCIDR` returns it. */
export interface Cidr {
  readonly network: Ip;
  readonly prefix: number;
}

function parseIpv4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    // Go rejects empty octets, more than three digits, and leading zeros.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseIpv6(s: string): bigint | undefined {
  let groups: string[];
  let tail: bigint | undefined;
  let text = s;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    tail = parseIpv4(text.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : (halves[0] as string).split(':');
  const rest =
    halves.length === 2 ? (halves[1] === '' ? [] : (halves[1] as string).split(':')) : [];
  if (halves.length === 2) {
    const missing = 8 - head.length - rest.length;
    if (missing < 1) return undefined;
    groups = [...head, ...Array<string>(missing).fill('0'), ...rest];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;
  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  if (tail !== undefined) value = (value & ~0xffffffffn) | tail;
  return value;
}

/** `net.ParseIP`: IPv4 dotted quad or IPv6 (no zone). */
export function parseIp(s: string): Ip | undefined {
  if (s.includes(':')) {
    const v = parseIpv6(s);
    return v === undefined ? undefined : { value: v, bits: 128 };
  }
  const v = parseIpv4(s);
  return v === undefined ? undefined : { value: v, bits: 32 };
}

/** `net.ParseCIDR`: an address, `/`, and a decimal prefix length within the family. */
export function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(s.slice(0, slash));
  const len = s.slice(slash + 1);
  if (ip === undefined || !/^[0-9]{1,3}$/.test(len)) return undefined;
  const prefix = Number(len);
  if (prefix > ip.bits) return undefined;
  return { network: { value: ip.value & mask(prefix, ip.bits), bits: ip.bits }, prefix };
}

/** The network mask of `prefix` bits in a `bits`-wide family. */
export function mask(prefix: number, bits: number): bigint {
  const all = (1n << BigInt(bits)) - 1n;
  return all ^ ((1n << BigInt(bits - prefix)) - 1n);
}

/** The last address of a prefix. */
export function lastOf(c: Cidr): bigint {
  return c.network.value | ((1n << BigInt(c.network.bits - c.prefix)) - 1n);
}

/** Go's `IP.String()`: dotted quad, or RFC 5952 IPv6 (longest zero run of two or more groups as `::`). */
export function formatIp(ip: Ip): string {
  if (ip.bits === 32)
    return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 0xffn)).join('.');
  // Go prints IPv4-mapped IPv6 addresses as IPv4.
  if (ip.value >> 32n === 0xffffn) return formatIp({ value: ip.value & 0xffffffffn, bits: 32 });
  const groups = Array.from({ length: 8 }, (_, i) =>
    Number((ip.value >> BigInt(112 - 16 * i)) & 0xffffn),
  );
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** `IPNet.String()`: `network/prefix`. */
export function formatCidr(c: Cidr): string {
  return `${formatIp(c.network)}/${c.prefix}`;
}

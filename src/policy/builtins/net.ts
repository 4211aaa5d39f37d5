/**
 * OPA's `net.cidr_is_valid`, `net.cidr_expand` and `net.cidr_merge` (the rest of `net.cidr_*` is
 * compiled into the wasm module by OPA). Parsing and printing follow Go's `net` package
 * ({@link parseCidr}, {@link formatCidr}).
 *
 * Both return a Rego set, as OPA does ({@link RegoSet}, loaded into the module by
 * src/deps/opa-wasm.ts); a set argument of `net.cidr_merge` arrives as an array.
 * `net.cidr_expand` is bounded: a prefix of more than
 * {@link MAX_EXPAND} addresses is an error (undefined), where OPA would build the whole set.
 */
import { RegoSet } from '../../deps/rego-value.js';
import { formatCidr, formatIp, lastOf, mask, parseCidr, parseIp, type Cidr } from './ip.js';

/** The most addresses `net.cidr_expand` lists (a /16 of IPv4). */
export const MAX_EXPAND = 65_536;

/** `net.cidr_is_valid(cidr)`. */
export function cidrIsValid(cidr: unknown): boolean {
  return typeof cidr === 'string' && parseCidr(cidr) !== undefined;
}

/** A set of strings, listed in OPA's set order (by UTF-8 bytes) for readable output. */
function stringSet(values: Iterable<string>): RegoSet {
  return new RegoSet(
    [...new Set(values)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
  );
}

/** `net.cidr_expand(cidr)`: every address of the prefix. */
export function cidrExpand(cidr: unknown): RegoSet | undefined {
  if (typeof cidr !== 'string') return undefined;
  const c = parseCidr(cidr);
  if (c === undefined || c.network.bits - c.prefix > 16) return undefined;
  const out: string[] = [];
  for (let v = c.network.value; v <= lastOf(c); v++)
    out.push(formatIp({ value: v, bits: c.network.bits }));
  return stringSet(out);
}

interface Range {
  first: bigint;
  last: bigint;
  bits: 32 | 128;
  network: Cidr | undefined;
}

/** netaddr's split of `[first, last]` into the fewest prefixes. */
function rangeToCidrs(first: bigint, last: bigint, bits: 32 | 128): Cidr[] {
  const out: Cidr[] = [];
  let start = first;
  while (start <= last) {
    let size = 0;
    // The largest aligned block starting at `start` that stays within `last`.
    while (
      size < bits &&
      (start & ((1n << BigInt(size + 1)) - 1n)) === 0n &&
      start + (1n << BigInt(size + 1)) - 1n <= last
    )
      size++;
    out.push({ network: { value: start, bits }, prefix: bits - size });
    start += 1n << BigInt(size);
  }
  return out;
}

/** `net.cidr_merge(addrs)`: the fewest prefixes covering the given addresses and prefixes. */
export function cidrMerge(addrs: unknown): RegoSet | undefined {
  if (!Array.isArray(addrs)) return undefined;
  const ranges: Range[] = [];
  for (const a of addrs) {
    if (typeof a !== 'string') return undefined;
    let c: Cidr | undefined;
    const ip = parseIp(a);
    if (ip === undefined) c = parseCidr(a);
    else if (ip.bits === 32) {
      // Go's `IP.DefaultMask()`: the classful mask (A /8, B /16, C /24), the address unmasked.
      const top = Number(ip.value >> 24n);
      const prefix = top < 0x80 ? 8 : top < 0xc0 ? 16 : 24;
      const network = {
        network: { value: ip.value & mask(prefix, 32), bits: 32 as const },
        prefix,
      };
      ranges.push({
        first: network.network.value,
        last: lastOf(network),
        bits: 32,
        network: { network: ip, prefix },
      });
      continue;
    } else return undefined; // OPA: "IPv6 invalid: needs prefix length"
    if (c === undefined) return undefined;
    ranges.push({ first: c.network.value, last: lastOf(c), bits: c.network.bits, network: c });
  }
  const out: string[] = [];
  for (const bits of [32, 128] as const) {
    const family = ranges
      .filter((r) => r.bits === bits)
      .sort((a, b) => (a.last === b.last ? cmp(a.first, b.first) : cmp(a.last, b.last)));
    for (let i = family.length - 1; i > 0; i--) {
      const cur = family[i] as Range;
      const prev = family[i - 1] as Range;
      if (cur.first - 1n <= prev.last) {
        family[i - 1] = {
          first: prev.first < cur.first ? prev.first : cur.first,
          last: cur.last,
          bits,
          network: undefined,
        };
        family.splice(i, 1);
      }
    }
    for (const r of family) {
      for (const c of r.network === undefined ? rangeToCidrs(r.first, r.last, bits) : [r.network])
        out.push(formatCidr(c));
    }
  }
  return stringSet(out);
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

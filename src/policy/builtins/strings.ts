/**
 * Small string and encoding builtins that OPA's wasm compiler leaves to the host.
 */

/** `hex.encode(x)`: lower-case hex of the UTF-8 bytes. */
export function hexEncode(x: unknown): string | undefined {
  return typeof x === 'string' ? Buffer.from(x, 'utf8').toString('hex') : undefined;
}

/** `hex.decode(x)`: the string whose UTF-8 bytes `x` spells; undefined on bad hex. */
export function hexDecode(x: unknown): string | undefined {
  if (typeof x !== 'string' || x.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(x)) return undefined;
  return Buffer.from(x, 'hex').toString('utf8');
}

/** `base64url.encode_no_pad(x)`. */
export function base64urlEncodeNoPad(x: unknown): string | undefined {
  return typeof x === 'string' ? Buffer.from(x, 'utf8').toString('base64url') : undefined;
}

function stringList(x: unknown): string[] | undefined {
  if (typeof x === 'string') return [x];
  if (Array.isArray(x) && x.every((v) => typeof v === 'string')) return x as string[];
  return undefined;
}

/** `strings.any_prefix_match(search, base)`: strings or arrays/sets of strings. */
export function anyPrefixMatch(search: unknown, base: unknown): boolean | undefined {
  const s = stringList(search);
  const b = stringList(base);
  if (s === undefined || b === undefined) return undefined;
  return s.some((x) => b.some((p) => x.startsWith(p)));
}

/** `strings.any_suffix_match(search, base)`. */
export function anySuffixMatch(search: unknown, base: unknown): boolean | undefined {
  const s = stringList(search);
  const b = stringList(base);
  if (s === undefined || b === undefined) return undefined;
  return s.some((x) => b.some((p) => x.endsWith(p)));
}

/** Code-point index of every occurrence, as OPA counts (runes, not UTF-16 units). */
export function indexofN(haystack: unknown, needle: unknown): number[] | undefined {
  if (typeof haystack !== 'string' || typeof needle !== 'string') return undefined;
  const h = [...haystack];
  const n = [...needle];
  const out: number[] = [];
  if (n.length === 0) return out;
  for (let i = 0; i + n.length <= h.length; i++) {
    let match = true;
    for (let j = 0; j < n.length; j++)
      if (h[i + j] !== n[j]) {
        match = false;
        break;
      }
    if (match) out.push(i);
  }
  return out;
}

/** `strings.count(search, substring)`: non-overlapping occurrences (Go `strings.Count`). */
export function count(search: unknown, substring: unknown): number | undefined {
  if (typeof search !== 'string' || typeof substring !== 'string') return undefined;
  if (substring === '') return [...search].length + 1;
  return search.split(substring).length - 1;
}

/**
 * OPA's `units.parse(x)` (SI and binary SI, `m` for milli) and `units.parse_bytes(x)`. Amounts
 * are decimal (with an exponent of at most six digits); results are exact: integers of any
 * size as exact JSON, other `units.parse` results with ten decimals as OPA prints them.
 */
import { exactInteger } from './raw-json.js';

const MAX_EXPONENT_DIGITS = 6;
const K = 1000n;
const KI = 1024n;

/** OPA's `extractNumAndUnit`: `[number, unit]`, or `undefined` for an over-long exponent. */
function splitAmount(s: string): [string, string] | undefined {
  const digit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (!digit(c) && c !== '.' && c !== 'e' && c !== 'E' && c !== '+' && c !== '-')
      return i === 0 ? ['', s] : [s.slice(0, i), s.slice(i)];
    if (c === 'e' || c === 'E') {
      const next = s[i + 1];
      if (next === undefined || (!digit(next) && next !== '+' && next !== '-'))
        return i === 0 ? ['', s] : [s.slice(0, i), s.slice(i)];
      if (next === '+' || next === '-') i++;
      let end = i + 1;
      while (digit(s[end])) end++;
      if (end - (i + 1) > MAX_EXPONENT_DIGITS) return undefined;
    }
  }
  return [s, ''];
}

/** An exact rational `num/den` from a decimal literal as Go's `big.Rat.SetString` reads it. */
function parseDecimal(text: string): { num: bigint; den: bigint } | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (m === null || ((m[2] ?? '') === '' && (m[3] ?? '') === '')) return undefined;
  const frac = m[3] ?? '';
  let num = BigInt(`${m[2] ?? ''}${frac}` || '0');
  let den = 10n ** BigInt(frac.length);
  const exp = Number(m[4] ?? '0');
  if (exp >= 0) num *= 10n ** BigInt(exp);
  else den *= 10n ** BigInt(-exp);
  if (m[1] === '-') num = -num;
  return { num, den };
}

function pow(base: bigint, n: number): bigint {
  return base ** BigInt(n);
}

const SI_UNITS: Record<string, { num: bigint; den: bigint }> = {
  '': { num: 1n, den: 1n },
  m: { num: 1n, den: 1000n },
  k: { num: K, den: 1n },
  K: { num: K, den: 1n },
  ki: { num: KI, den: 1n },
  Ki: { num: KI, den: 1n },
  M: { num: pow(K, 2), den: 1n },
  mi: { num: pow(KI, 2), den: 1n },
  Mi: { num: pow(KI, 2), den: 1n },
  g: { num: pow(K, 3), den: 1n },
  G: { num: pow(K, 3), den: 1n },
  gi: { num: pow(KI, 3), den: 1n },
  Gi: { num: pow(KI, 3), den: 1n },
  t: { num: pow(K, 4), den: 1n },
  T: { num: pow(K, 4), den: 1n },
  ti: { num: pow(KI, 4), den: 1n },
  Ti: { num: pow(KI, 4), den: 1n },
  p: { num: pow(K, 5), den: 1n },
  P: { num: pow(K, 5), den: 1n },
  pi: { num: pow(KI, 5), den: 1n },
  Pi: { num: pow(KI, 5), den: 1n },
  e: { num: pow(K, 6), den: 1n },
  E: { num: pow(K, 6), den: 1n },
  ei: { num: pow(KI, 6), den: 1n },
  Ei: { num: pow(KI, 6), den: 1n },
};

/** `big.Rat.FloatString(10)`: rounded half away from zero to ten decimals. */
function floatString10(num: bigint, den: bigint): string {
  const negative = num < 0n;
  const abs = negative ? -num : num;
  const scaled = abs * 10n ** 10n;
  let q = scaled / den;
  if ((scaled % den) * 2n >= den) q++;
  const digits = q.toString().padStart(11, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -10)}.${digits.slice(-10)}`;
}

/** `units.parse(x)`. */
export function parse(x: unknown): number | ArrayBuffer | undefined {
  if (typeof x !== 'string') return undefined;
  const s = x.replaceAll('"', '');
  if (s.includes(' ')) return undefined;
  const split = splitAmount(s);
  if (split === undefined || split[0] === '') return undefined;
  let unit = split[1];
  if (unit.length > 1) unit = unit[0] + unit.slice(1).toLowerCase();
  const factor = Object.hasOwn(SI_UNITS, unit) ? SI_UNITS[unit] : undefined;
  const amount = parseDecimal(split[0]);
  if (factor === undefined || amount === undefined) return undefined;
  const num = amount.num * factor.num;
  const den = amount.den * factor.den;
  if (num % den === 0n) return exactInteger(num / den);
  return Number(floatString10(num, den));
}

const BYTE_UNITS: Record<string, bigint> = {
  '': 1n,
  kb: K,
  k: K,
  kib: KI,
  ki: KI,
  mb: pow(K, 2),
  m: pow(K, 2),
  mib: pow(KI, 2),
  mi: pow(KI, 2),
  gb: pow(K, 3),
  g: pow(K, 3),
  gib: pow(KI, 3),
  gi: pow(KI, 3),
  tb: pow(K, 4),
  t: pow(K, 4),
  tib: pow(KI, 4),
  ti: pow(KI, 4),
  pb: pow(K, 5),
  p: pow(K, 5),
  pib: pow(KI, 5),
  pi: pow(KI, 5),
  eb: pow(K, 6),
  e: pow(K, 6),
  eib: pow(KI, 6),
  ei: pow(KI, 6),
};

/** `units.parse_bytes(x)`: an integer number of bytes (fractions truncated toward zero). */
export function parseBytes(x: unknown): number | ArrayBuffer | undefined {
  if (typeof x !== 'string') return undefined;
  const s = x.toLowerCase().replaceAll('"', '');
  if (s.includes(' ')) return undefined;
  const split = splitAmount(s);
  if (split === undefined || split[0] === '') return undefined;
  const factor = Object.hasOwn(BYTE_UNITS, split[1]) ? BYTE_UNITS[split[1]] : undefined;
  const amount = parseDecimal(split[0]);
  if (factor === undefined || amount === undefined) return undefined;
  return exactInteger((amount.num * factor) / amount.den);
}

/**
 * OPA's `uuid.rfc4122(k)` (a random version 4 UUID, the same for the same `k` within one
 * evaluation) and `uuid.parse(uuid)` (google/uuid's parser and OPA's decoded fields).
 */
import { randomBytes } from 'node:crypto';
import type { EvalContext } from './context.js';
import { exactNestedInteger } from './raw-json.js';

/** `uuid.rfc4122(k)`. */
export function rfc4122(ctx: EvalContext): (k: unknown) => string {
  return (k) =>
    ctx.memo(`uuid.rfc4122:${JSON.stringify(k)}`, () => {
      const b = randomBytes(16);
      b[6] = ((b[6] as number) & 0x0f) | 0x40;
      b[8] = ((b[8] as number) & 0x3f) | 0x80;
      const h = b.toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    });
}

/** google/uuid `Parse`: the 16 bytes of the accepted textual forms. */
function uuidBytes(s: string): Buffer | undefined {
  let hex: string;
  if (s.length === 36) {
    if (s[8] !== '-' || s[13] !== '-' || s[18] !== '-' || s[23] !== '-') return undefined;
    hex = s.slice(0, 8) + s.slice(9, 13) + s.slice(14, 18) + s.slice(19, 23) + s.slice(24);
  } else if (s.length === 45) {
    if (s.slice(0, 9).toLowerCase() !== 'urn:uuid:') return undefined;
    return uuidBytes(s.slice(9));
  } else if (s.length === 38) {
    if (s[0] !== '{' || s[37] !== '}') return undefined;
    return uuidBytes(s.slice(1, 37));
  } else if (s.length === 32) {
    hex = s;
  } else {
    return undefined;
  }
  return /^[0-9a-fA-F]{32}$/.test(hex) ? Buffer.from(hex, 'hex') : undefined;
}

const VARIANTS = ['Reserved', 'RFC4122', 'Microsoft', 'Future'] as const;
const DOMAINS: Record<number, string> = { 0: 'Person', 1: 'Group', 2: 'Org' };

function macVars(b: number): string {
  if ((b & 3) === 3) return 'local:multicast';
  if ((b & 1) === 1) return 'global:multicast';
  if ((b & 2) === 2) return 'local:unicast';
  return 'global:unicast';
}

/** `uuid.parse(uuid)`: `version`, `variant`, and for versions 1 and 2 the time, node and clock fields. */
export function parse(x: unknown): Record<string, unknown> | undefined {
  if (typeof x !== 'string') return undefined;
  const b = uuidBytes(x);
  if (b === undefined) return undefined;
  const version = (b[6] as number) >> 4;
  const v8 = b[8] as number;
  const variant =
    (v8 & 0xc0) === 0x80 ? 1 : (v8 & 0xe0) === 0xc0 ? 2 : (v8 & 0xe0) === 0xe0 ? 3 : 0;
  const out: Record<string, unknown> = { version, variant: VARIANTS[variant] };
  if (version === 1 || version === 2) {
    // google/uuid reads the v1 layout for both versions (a v2 `id` fills the low time bits).
    const time =
      (BigInt(b.readUInt16BE(6) & 0x0fff) << 48n) |
      (BigInt(b.readUInt16BE(4)) << 32n) |
      BigInt(b.readUInt32BE(0));
    // 100-ns intervals since 1582-10-15 → Unix nanoseconds.
    const unixNs = (time - 122_192_928_000_000_000n) * 100n;
    out['time'] = exactNestedInteger(unixNs);
    out['nodeid'] = [...b.subarray(10)].map((x) => x.toString(16).padStart(2, '0')).join('-');
    out['macvariables'] = macVars(b[10] as number);
    out['clocksequence'] = b.readUInt16BE(8) & 0x3fff;
    if (version === 2) {
      out['id'] = b.readUInt32BE(0);
      out['domain'] = DOMAINS[b[9] as number] ?? `Domain${b[9] as number}`;
    }
  }
  return out;
}

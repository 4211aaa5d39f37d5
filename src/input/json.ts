import { GatehouseError } from '../errors/gatehouse-error.js';
import { MAX_JSON_DEPTH } from './limits.js';
import type { JsonValue } from './types.js';

// Node >= 21 (V8 11.4): JSON.parse passes the source text of primitives to the reviver, and
// JSON.rawJSON makes a value that JSON.stringify writes verbatim. Not yet in TypeScript's lib.
type ReviverContext = { readonly source?: string };
type Reviver = (this: unknown, key: string, value: unknown, context?: ReviverContext) => unknown;
const parseWithReviver = JSON.parse as (text: string, reviver: Reviver) => unknown;
const rawJSON = (JSON as unknown as { rawJSON?: (text: string) => unknown }).rawJSON;

function invalid(reason: string): GatehouseError {
  return new GatehouseError('ERR_BODY_INVALID', { cause: new Error(`json: ${reason}`) });
}

/**
 * Reject nesting deeper than MAX_JSON_DEPTH, and return the text of every number that may need
 * the exact path (an exponent, or more than 15 digits: the only ones a double may not carry
 * exactly), or undefined when there is none. One linear pass over the text; strings are skipped.
 */
function scan(text: string): string[] | undefined {
  let depth = 0;
  let risky: string[] | undefined;
  let digits = 0;
  let exponent = false;
  let start = -1; // where the number being read began (a digit or '-'), or -1
  const n = text.length;
  const end = (i: number): void => {
    if (start >= 0 && (digits > 15 || exponent)) {
      risky = risky ?? [];
      risky.push(text.slice(start, i));
    }
    start = -1;
    digits = 0;
    exponent = false;
  };
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      end(i);
      // Skip a string; JSON.parse validates it.
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      end(i);
      if (++depth > MAX_JSON_DEPTH) throw invalid(`nested deeper than ${MAX_JSON_DEPTH}`);
    } else if (c === 0x5d || c === 0x7d) {
      end(i);
      depth--;
    } else if (c >= 0x30 && c <= 0x39) {
      if (start < 0) start = i;
      digits++;
    } else if (c === 0x2d) {
      if (start < 0) start = i;
    } else if ((c === 0x65 || c === 0x45) && start >= 0) {
      exponent = true; // an exponent: 'e' inside a number (the 'e' of true/false follows letters)
    } else if (c !== 0x2e && c !== 0x2b) {
      end(i);
    }
  }
  end(n);
  return risky;
}

/** Significant digits and decimal exponent of a JSON number's text, for an exactness check. */
function normalise(text: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (m === null) return text;
  const int = m[2] ?? '';
  const frac = m[3] ?? '';
  let digits = int + frac;
  let exp = BigInt(m[4] ?? '0') - BigInt(frac.length);
  const lead = /^0*/.exec(digits)?.[0].length ?? 0;
  digits = digits.slice(lead);
  if (digits === '') return '0';
  const trimmed = digits.replace(/0+$/, '');
  exp += BigInt(digits.length - trimmed.length);
  return `${m[1]}${trimmed}e${exp}`;
}

/**
 * Whether JSON.parse gives the number `text` denotes exactly, as the reviver would leave it. A
 * token JSON.parse would reject (`1e`, `--1`) is not carried: the reviver path then reports it.
 */
function carriedExactly(text: string): boolean {
  const value = Number(text);
  // The common case first (what JSON.stringify wrote, e.g. 16.990000000000002): the text is the
  // number's shortest round-trip form, which is always a valid JSON number token.
  if (Number.isFinite(value) && String(value) === text) return true;
  if (!/^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(text)) return false;
  if (!Number.isFinite(value)) return false;
  return normalise(String(value)) === normalise(text);
}

const exactReviver: Reviver = (_key, value, context) => {
  if (typeof value !== 'number') return value;
  if (!Number.isFinite(value)) throw invalid('number out of range');
  const source = context?.source;
  if (source === undefined) return value;
  // Would JSON.stringify(value) denote the same decimal number as the client sent?
  if (normalise(String(value)) === normalise(source)) return value;
  if (rawJSON === undefined) throw invalid('number not representable');
  // Keep the client's exact digits, as OPA's arbitrary-precision numbers do.
  return rawJSON(source);
};

/**
 * Parse a JSON body.
 *
 * Numbers keep their exact value: one a double cannot carry (a 20-digit id, `0.1000000000000000055`)
 * becomes a `JSON.rawJSON` value that serialises to the client's digits, as OPA's arbitrary
 * precision numbers would; `1e400` and other non-finite numbers are rejected rather than turned
 * into `null` by `JSON.stringify`.
 *
 * @throws {GatehouseError} `ERR_BODY_INVALID` on invalid JSON, nesting deeper than
 *   `MAX_JSON_DEPTH`, or a number out of double range.
 */
export function parseJson(text: string): JsonValue {
  const risky = scan(text);
  try {
    // The reviver costs a call per value; it changes nothing unless a number is not carried
    // exactly (or is out of range), so the plain parse serves every body whose numbers all are.
    const exact = risky === undefined || risky.every(carriedExactly);
    return (exact ? JSON.parse(text) : parseWithReviver(text, exactReviver)) as JsonValue;
  } catch (err: unknown) {
    if (err instanceof GatehouseError) throw err;
    throw new GatehouseError('ERR_BODY_INVALID', { cause: err });
  }
}

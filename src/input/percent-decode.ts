import { GatehouseError } from '../errors/gatehouse-error.js';
import type { ErrorCode } from '../errors/codes.js';

// Fatal: a percent-encoded sequence that is not UTF-8 is an error, never U+FFFD. ignoreBOM keeps
// a leading U+FEFF as data instead of silently dropping it.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const PLUS = 0x2b;
const PERCENT = 0x25;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Percent-decode one URL component (a path segment, a query key or value).
 *
 * Like Go's `url.PathUnescape` (`plusAsSpace: false`) or `url.QueryUnescape` (`plusAsSpace:
 * true`), with two deliberate differences: the decoded bytes must be UTF-8, and a decoded NUL is
 * rejected (a NUL has no business in a URL and is a classic truncation attack on upstreams).
 *
 * @throws {GatehouseError} `code` on a malformed escape (`%zz`, `%4`, a trailing `%`), on
 *   decoded bytes that are not UTF-8 (`%e0%80`), or on a decoded NUL (`%00`).
 */
export function percentDecode(component: string, plusAsSpace: boolean, code: ErrorCode): string {
  // Fast path: nothing to decode. Raw NUL is rejected by callers' control-character checks.
  if (component.indexOf('%') < 0 && (!plusAsSpace || component.indexOf('+') < 0)) return component;

  let out = '';
  let i = 0;
  const n = component.length;
  while (i < n) {
    const c = component.charCodeAt(i);
    if (c === PERCENT) {
      // Collect the whole run of escapes: a multi-byte character is only valid as one run,
      // because unescaped characters always contribute whole code points.
      const bytes: number[] = [];
      while (i < n && component.charCodeAt(i) === PERCENT) {
        const hi = i + 1 < n ? hexValue(component.charCodeAt(i + 1)) : -1;
        const lo = i + 2 < n ? hexValue(component.charCodeAt(i + 2)) : -1;
        if (hi < 0 || lo < 0) {
          throw new GatehouseError(code, {
            cause: new Error(`malformed percent-escape at offset ${i}`),
          });
        }
        const byte = (hi << 4) | lo;
        if (byte === 0) throw new GatehouseError(code, { cause: new Error('percent-encoded NUL') });
        bytes.push(byte);
        i += 3;
      }
      try {
        out += utf8.decode(Uint8Array.from(bytes));
      } catch (err: unknown) {
        throw new GatehouseError(code, { cause: err });
      }
    } else if (c === PLUS && plusAsSpace) {
      out += ' ';
      i += 1;
    } else {
      const next = component.indexOf('%', i);
      const stop = next < 0 ? n : next;
      if (plusAsSpace) {
        const plus = component.indexOf('+', i);
        const end = plus >= 0 && plus < stop ? plus : stop;
        out += component.slice(i, end);
        i = end;
      } else {
        out += component.slice(i, stop);
        i = stop;
      }
    }
  }
  return out;
}

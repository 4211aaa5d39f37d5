import { GatehouseError } from '../errors/gatehouse-error.js';
import type { ErrorCode } from '../errors/codes.js';
import { MAX_FORM_FIELDS } from './limits.js';
import { percentDecode } from './percent-decode.js';

/** Decoded `key → values` pairs. A null-prototype object: a key such as `__proto__` is plain data. */
export type FormValues = Record<string, string[]>;

/**
 * Parse `application/x-www-form-urlencoded` data (a query string or a form body) the way Go's
 * `url.ParseQuery` does: pairs split on `&`, empty pairs skipped, key and value split on the first
 * `=`, a key without `=` gets `''`, `+` means space, repeated keys accumulate in order.
 *
 * Where Go reports an error but keeps going (a `;` in a pair, a malformed escape), this fails
 * closed: the whole input is rejected, so the policy never sees fewer parameters than the upstream.
 *
 * @throws {GatehouseError} `code` on a `;`, a malformed or non-UTF-8 escape, a decoded NUL, or more
 *   than `MAX_FORM_FIELDS` pairs.
 */
export function parseUrlEncoded(data: string, code: ErrorCode): FormValues {
  const out: FormValues = Object.create(null) as FormValues;
  if (data === '') return out;
  let count = 0;
  let start = 0;
  const n = data.length;
  while (start <= n) {
    let end = data.indexOf('&', start);
    if (end < 0) end = n;
    if (end > start) {
      const pair = data.slice(start, end);
      if (pair.indexOf(';') >= 0) {
        throw new GatehouseError(code, { cause: new Error('semicolon separator in query') });
      }
      if (++count > MAX_FORM_FIELDS) {
        throw new GatehouseError(code, { cause: new Error(`more than ${MAX_FORM_FIELDS} fields`) });
      }
      const eq = pair.indexOf('=');
      const key = percentDecode(eq < 0 ? pair : pair.slice(0, eq), true, code);
      const value = eq < 0 ? '' : percentDecode(pair.slice(eq + 1), true, code);
      const values = out[key];
      if (values === undefined) out[key] = [value];
      else values.push(value);
    }
    start = end + 1;
  }
  return out;
}

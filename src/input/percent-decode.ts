import type { ErrorCode } from '../errors/codes.js';
import { GatehouseError } from '../errors/gatehouse-error.js';

/**
 * Percent-decode one URL component (a path segment, a query key or value): `decodeURIComponent`
 * (after `+` → space when `plusAsSpace`, as in a query), plus a NUL check.
 *
 * Like Go's `url.PathUnescape` (`plusAsSpace: false`) or `url.QueryUnescape` (`plusAsSpace:
 * true`), with two deliberate differences: the decoded bytes must be UTF-8 (decodeURIComponent
 * refuses anything else, a leading U+FEFF included as data), and a decoded NUL is rejected (a NUL
 * has no business in a URL and is a classic truncation attack on upstreams). A raw NUL is left to
 * the callers' control-character checks.
 *
 * @throws {GatehouseError} `code` on a malformed escape (`%zz`, `%4`, a trailing `%`), on
 *   decoded bytes that are not UTF-8 (`%e0%80`), or on a decoded NUL (`%00`).
 */
export function percentDecode(component: string, plusAsSpace: boolean, code: ErrorCode): string {
  const text = plusAsSpace ? component.replaceAll('+', ' ') : component;
  if (!text.includes('%')) return text;
  let decoded: string;
  try {
    decoded = decodeURIComponent(text);
  } catch (cause) {
    throw new GatehouseError(code, { cause });
  }
  // In text that decoded, every `%` starts an escape: `%00` is exactly a decoded NUL.
  if (text.includes('%00'))
    throw new GatehouseError(code, { cause: new Error('percent-encoded NUL') });
  return decoded;
}

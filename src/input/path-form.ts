/**
 * Is a request path in normal form? Gatehouse does not trust the proxy to have normalised the
 * path (Istio with normalisation off, a hand-written Envoy config, any ext_authz client): a path
 * that an upstream could read differently from the policy is refused before the policy runs.
 *
 * "Normal form after one decode": split the raw path on `/`, percent-decode each segment once;
 * the path is normal when no raw or decoded segment could be given another meaning by a later
 * hop. Refused, each with its reason in the error's cause:
 *
 * - dot segments in any encoding: `.`, `..` and runs of dots (`...`, which some servers read as
 *   `..`), raw or decoded (`%2e%2e`, `.%2E`);
 * - an encoded `%` (`%25`): a second decode by the upstream would see another path;
 * - an encoded `/` (`%2F`) or any backslash, raw or encoded (`\`, `%5C`): another separator;
 * - `;` raw or encoded (`%3B`): path parameters (`..;/` is `../` to Tomcat);
 * - a control character, raw or decoded (`%0A`, `%09`, `%7F`, C1).
 *
 * The query is not part of this check (`parsed_query` decodes it on its own rules).
 */
import { GatehouseError } from '../errors/gatehouse-error.js';
import { percentDecode } from './percent-decode.js';

/** Raw characters and escapes that never belong in a normal path: `\`, `;`, `%25`, `%2F`, `%3B`, `%5C`. */
const RAW_FORBIDDEN = /[\\;]|%(?:25|2f|3b|5c)/i;
/** Control characters (C0, DEL, C1) and the Unicode line and paragraph separators. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** A segment made only of dots: `.`, `..`, `...`, … */
const DOTS = /^\.+$/;

/**
 * Why `rawPath` (the path without its query, as sent) is not in normal form; `undefined` when it is.
 *
 * @example pathFormProblem('/api/items') // undefined
 * @example pathFormProblem('/public/%2e%2e/admin') // 'dot segment'
 */
export function pathFormProblem(rawPath: string): string | undefined {
  if (rawPath === '' || rawPath === '*') return undefined;
  const raw = RAW_FORBIDDEN.exec(rawPath);
  if (raw !== null) return `"${raw[0]}" in the path`;
  if (CONTROL.test(rawPath)) return 'control character';
  for (const segment of rawPath.split('/')) {
    if (DOTS.test(segment)) return 'dot segment';
    if (!segment.includes('%')) continue;
    let decoded: string;
    try {
      decoded = percentDecode(segment, false, 'ERR_PATH_INVALID');
    } catch {
      // A malformed, non-UTF-8 or NUL escape: parsePath refuses it itself (ERR_PATH_INVALID).
      continue;
    }
    if (DOTS.test(decoded)) return 'encoded dot segment';
    if (CONTROL.test(decoded)) return 'encoded control character';
  }
  return undefined;
}

/**
 * Refuse a path that is not in normal form ({@link pathFormProblem}).
 *
 * @throws GatehouseError `ERR_PATH_NOT_NORMAL` (400) naming the reason in its cause.
 */
export function assertNormalPath(rawPath: string): void {
  const problem = pathFormProblem(rawPath);
  if (problem !== undefined)
    throw new GatehouseError('ERR_PATH_NOT_NORMAL', { cause: new Error(problem) });
}

import { GatehouseError } from '../errors/gatehouse-error.js';
import { MAX_PATH_LENGTH } from './limits.js';
import { assertNormalPath } from './path-form.js';
import { percentDecode } from './percent-decode.js';
import { parseUrlEncoded, type FormValues } from './url-encoded.js';

/** `parsed_path` and `parsed_query` of one request. */
export interface ParsedPath {
  /** Path segments, leading slashes dropped, each percent-decoded after splitting. */
  readonly parsedPath: string[];
  /** Query parameters; values are always arrays. Null-prototype object. */
  readonly parsedQuery: FormValues;
}

// Go's url.Parse rejects any ASCII control byte anywhere in the URL; so do we. A lone surrogate
// cannot come off the wire (protobuf strings are UTF-8) but would not survive JSON encoding.
const CONTROL_OR_LONE_SURROGATE =
  /[\u0000-\u001f\u007f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Split Envoy's `:path` (`attributes.request.http.path`, origin-form, query included) into the
 * plugin's `parsed_path` and `parsed_query`.
 *
 * The string is only ever treated as a path: it is never resolved against a base URL, so
 * `//admin/x` cannot turn `admin` into a host. Leading slashes are dropped (as the plugin's
 * `strings.TrimLeft(path, "/")`), the rest is split on literal `/` and each segment is then
 * percent-decoded. A path that is not in normal form after one decode (dot segments in any
 * encoding, `%25`, `%2F`, `\`, `;`, control characters: see `path-form.ts`) is refused, whatever
 * the proxy did or did not normalise. The fragment, if any, is ignored. `+` in the path is a literal `+`; in the query it is a space.
 *
 * @example
 *   parsePath('/api/v1/users?id=7&id=8&all')
 *   // { parsedPath: ['api', 'v1', 'users'], parsedQuery: { id: ['7', '8'], all: [''] } }
 * @throws {GatehouseError} `ERR_PATH_INVALID` when the path is too long, holds a control
 *   character, does not start with `/` (other than `''` and `*`), or has a malformed, non-UTF-8
 *   or NUL escape or a `;` in its query.
 * @throws {GatehouseError} `ERR_PATH_NOT_NORMAL` when the path is not in normal form.
 */
export function parsePath(path: string): ParsedPath {
  if (path.length > MAX_PATH_LENGTH) {
    throw new GatehouseError('ERR_PATH_INVALID', {
      cause: new Error(`path longer than ${MAX_PATH_LENGTH}`),
    });
  }
  if (CONTROL_OR_LONE_SURROGATE.test(path)) {
    throw new GatehouseError('ERR_PATH_INVALID', {
      cause: new Error('control character or lone surrogate in path'),
    });
  }
  const hash = path.indexOf('#');
  const withoutFragment = hash < 0 ? path : path.slice(0, hash);
  const q = withoutFragment.indexOf('?');
  const rawPath = q < 0 ? withoutFragment : withoutFragment.slice(0, q);
  const rawQuery = q < 0 ? '' : withoutFragment.slice(q + 1);

  if (rawPath !== '' && rawPath !== '*' && rawPath.charCodeAt(0) !== 0x2f) {
    throw new GatehouseError('ERR_PATH_INVALID', { cause: new Error('path is not origin-form') });
  }
  // Assume the proxy did not normalise: a path an upstream could read differently from the
  // policy never reaches the policy (src/input/path-form.ts).
  assertNormalPath(rawPath);
  let start = 0;
  while (start < rawPath.length && rawPath.charCodeAt(start) === 0x2f) start++;
  const parsedPath = rawPath
    .slice(start)
    .split('/')
    .map((segment) => percentDecode(segment, false, 'ERR_PATH_INVALID'));

  return { parsedPath, parsedQuery: parseUrlEncoded(rawQuery, 'ERR_PATH_INVALID') };
}

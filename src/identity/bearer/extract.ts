/**
 * Finding the bearer token in an `Authorization` header (RFC 6750 §2.1).
 */
import { GatehouseError } from '../../errors/gatehouse-error.js';

/** RFC 6750 b64token. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * The token of an `Authorization: Bearer <token>` header.
 *
 * Returns `undefined` when there is no header or it uses another scheme (e.g. `Basic`, meant for
 * the upstream). The scheme is case-insensitive; exactly one token must follow one or more
 * spaces. Several headers joined by `,` (or several tokens) are refused, never guessed at.
 *
 * @throws GatehouseError `ERR_TOKEN_INVALID` when the scheme is Bearer but the credentials are malformed.
 * @example
 *   extractBearer('Bearer eyJ...') // 'eyJ...'
 *   extractBearer('Basic dXNlcjpwYXNz') // undefined
 */
export function extractBearer(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const value = authorization.trim();
  const match = /^([A-Za-z]+)(?:[ ]+(.*))?$/s.exec(value);
  if (match === null) {
    // A header that is not `scheme [credentials]` at all, but mentions Bearer, is a malformed bearer.
    if (/^bearer\b/i.test(value)) throw malformed('malformed Authorization header');
    return undefined;
  }
  if (match[1]!.toLowerCase() !== 'bearer') return undefined;
  const token = match[2];
  if (token === undefined || token === '') throw malformed('empty bearer token');
  if (!B64TOKEN.test(token)) throw malformed('the bearer credentials are not a single token');
  return token;
}

function malformed(reason: string): GatehouseError {
  return new GatehouseError('ERR_TOKEN_INVALID', { cause: new Error(reason) });
}

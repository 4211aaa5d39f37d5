/**
 * The `WWW-Authenticate` challenge of a 401 (RFC 6750 section 3): `Bearer realm="<host>"`, with
 * `error="invalid_token"` when a presented token was refused.
 */
import { quotedStringContent } from '../../response/header-safety.js';

/** The challenge for `host`; `refused` when the request carried a token that was not accepted. */
export function bearerChallenge(host: string, refused = false): string {
  const realm = `Bearer realm="${quotedStringContent(host)}"`;
  return refused ? `${realm}, error="invalid_token"` : realm;
}

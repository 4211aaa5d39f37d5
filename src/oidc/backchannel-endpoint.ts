/**
 * The back-channel logout endpoint's HTTP contract (OpenID Connect Back-Channel Logout 1.0
 * §2.5, §2.8), independent of the transport that carries it (Gatehouse answers it on a reserved
 * path through Envoy's ext_authz: src/check/reserved.ts).
 *
 * - `POST`, `Content-Type: application/x-www-form-urlencoded`, one `logout_token` parameter;
 * - 200 when the token is valid and the sessions it names are revoked;
 * - 400 with `{"error":"invalid_request","error_description":…}` for anything else the sender
 *   got wrong (method 405, a truncated body, a bad or replayed token);
 * - 503 `temporarily_unavailable` when the identity provider's keys cannot be had (the sender
 *   may retry), 500 when revoking failed;
 * - every answer `Cache-Control: no-store` (and the page headers of src/pages/reply.ts).
 */
import { GatehouseError } from '../errors/gatehouse-error.js';
import type { ErrorCode } from '../errors/codes.js';
import { parseUrlEncoded } from '../input/url-encoded.js';
import { jsonReply, type LocalReply } from '../pages/reply.js';
import type { LogoutRequest, LogoutTokenVerifier } from './backchannel-logout.js';

/** What the endpoint reads of the request. */
export interface BackchannelRequest {
  readonly method: string;
  /** Lowercase names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body as received (Envoy: `raw_body` with `pack_as_bytes`). */
  readonly body: Uint8Array;
}

/** Why a session is revoked, for the revocation log. */
export type RevocationReason = 'backchannel_logout';

/** Ends the sessions a logout token names. May throw: the endpoint then answers 500. */
export type Revoke = (
  target: { readonly iss: string; readonly sid?: string; readonly sub?: string },
  reason: RevocationReason,
) => Promise<void>;

/** What happened, for logs and metrics. Listeners must not throw. */
export type BackchannelEvent =
  | { readonly type: 'revoked'; readonly request: LogoutRequest }
  | { readonly type: 'refused'; readonly code: ErrorCode; readonly error: GatehouseError };

/** Options for {@link handleBackchannelLogout}. */
export interface BackchannelDeps {
  readonly verify: LogoutTokenVerifier;
  readonly revoke: Revoke;
  /**
   * Give the token's `jti` back when its revocation failed, so the identity provider's retry is
   * not refused as a replay (best effort: the store may be the thing that failed).
   */
  readonly unclaim?: (logout: LogoutRequest) => Promise<void>;
  readonly onEvent?: (event: BackchannelEvent) => void;
}

const FORM = 'application/x-www-form-urlencoded';

/**
 * Answer one back-channel logout request. Never throws: every failure is an error reply.
 *
 * @example
 *   const reply = await handleBackchannelLogout({ method: 'POST', headers, body }, { verify, revoke });
 */
export async function handleBackchannelLogout(
  request: BackchannelRequest,
  deps: BackchannelDeps,
): Promise<LocalReply> {
  const emit = (event: BackchannelEvent): void => {
    try {
      deps.onEvent?.(event);
    } catch {
      // A listener's failure is not the endpoint's.
    }
  };
  if (request.method !== 'POST')
    return jsonReply(405, { error: 'invalid_request', error_description: 'Use POST.' }, [
      ['allow', 'POST'],
    ]);
  let logout: LogoutRequest;
  try {
    const token = logoutToken(request);
    logout = await deps.verify(token);
  } catch (err) {
    const error = GatehouseError.from(err, 'ERR_LOGOUT_TOKEN_INVALID');
    emit({ type: 'refused', code: error.code, error });
    // The identity provider may retry these: its keys, or the store for the `jti`, unreachable.
    if (error.code === 'ERR_JWKS_UNAVAILABLE' || error.code === 'ERR_SESSION_STORE_UNAVAILABLE')
      return failure(503, 'temporarily_unavailable', error.message);
    if (error.code === 'ERR_INTERNAL') return failure(500, 'server_error', error.message);
    return failure(400, 'invalid_request', error.message);
  }
  try {
    await deps.revoke(
      {
        iss: logout.iss,
        ...(logout.sid === undefined ? {} : { sid: logout.sid }),
        ...(logout.sub === undefined ? {} : { sub: logout.sub }),
      },
      'backchannel_logout',
    );
  } catch (err) {
    const error = GatehouseError.from(err);
    emit({ type: 'refused', code: error.code, error });
    await deps.unclaim?.(logout).catch(() => undefined);
    if (error.code === 'ERR_SESSION_STORE_UNAVAILABLE')
      return failure(503, 'temporarily_unavailable', 'The sessions could not be revoked yet.');
    return failure(500, 'server_error', 'The sessions could not be revoked.');
  }
  emit({ type: 'revoked', request: logout });
  return jsonReply(200, {});
}

/** The one `logout_token` of a complete form body. @throws GatehouseError `ERR_LOGOUT_TOKEN_INVALID` */
function logoutToken(request: BackchannelRequest): string {
  const type = (request.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase();
  if (type !== FORM) throw invalid(`content type is not ${FORM}`);
  // Envoy marks a body it cut at with_logoutbody.max_logoutbytes; a cut token is no token.
  if (request.headers['x-envoy-auth-partial-body'] === 'true') throw invalid('truncated body');
  const declared = request.headers['content-length'];
  if (declared !== undefined && Number(declared) !== request.body.length)
    throw invalid('body shorter than its content-length');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(request.body);
  } catch (cause) {
    throw invalid('body is not UTF-8', cause);
  }
  const form = parseUrlEncoded(text, 'ERR_LOGOUT_TOKEN_INVALID');
  const values = form['logout_token'];
  if (values === undefined || values.length !== 1) throw invalid('not exactly one logout_token');
  return values[0] as string;
}

function invalid(reason: string, cause?: unknown): GatehouseError {
  return new GatehouseError('ERR_LOGOUT_TOKEN_INVALID', {
    cause: cause === undefined ? new Error(reason) : new Error(reason, { cause }),
  });
}

function failure(status: number, error: string, description: string): LocalReply {
  return jsonReply(status, { error, error_description: description });
}

/**
 * Map what openid-client (and oauth4webapi under it) throws onto Gatehouse's stable codes.
 * Unknown failures fall back to the caller's code: fail closed, detail kept in `cause`.
 */
import * as oidc from 'openid-client';
import type { ErrorCode } from '../../errors/codes.js';
import { GatehouseError } from '../../errors/gatehouse-error.js';

const UNAVAILABLE_CODES = new Set([
  'OAUTH_TIMEOUT',
  'OAUTH_ABORT',
  'OAUTH_RESPONSE_IS_NOT_CONFORM',
  'OAUTH_RESPONSE_IS_NOT_JSON',
]);

/** The code for an error thrown by an openid-client grant. */
export function mapOidcError(err: unknown, fallback: ErrorCode): GatehouseError {
  if (err instanceof GatehouseError) return err;
  if (err instanceof oidc.AuthorizationResponseError)
    return new GatehouseError('ERR_OIDC_PROVIDER_ERROR', { cause: err });
  if (err instanceof oidc.ResponseBodyError) {
    // 5xx from the token endpoint is an outage; 4xx (invalid_grant, invalid_client) a refusal.
    return new GatehouseError(err.status >= 500 ? 'ERR_OIDC_UNAVAILABLE' : fallback, {
      cause: err,
    });
  }
  if (err instanceof oidc.ClientError) {
    const inner = err.cause;
    const detail = inner instanceof Error ? inner.message : err.message;
    const claim =
      inner instanceof Error && typeof inner.cause === 'object' && inner.cause !== null
        ? (inner.cause as { claim?: unknown }).claim
        : undefined;
    if (err.code !== undefined && UNAVAILABLE_CODES.has(err.code))
      return new GatehouseError('ERR_OIDC_UNAVAILABLE', { cause: err });
    if (err.code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED') {
      if (claim === 'nonce') return new GatehouseError('ERR_OIDC_NONCE_MISMATCH', { cause: err });
      if (claim === 'iss') return new GatehouseError('ERR_OIDC_ISSUER_MISMATCH', { cause: err });
      return new GatehouseError('ERR_OIDC_ID_TOKEN_INVALID', { cause: err });
    }
    if (
      err.code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED' ||
      err.code === 'OAUTH_KEY_SELECTION_FAILED'
    ) {
      return new GatehouseError('ERR_OIDC_ID_TOKEN_INVALID', { cause: err });
    }
    if (err.code === 'OAUTH_INVALID_RESPONSE') {
      if (/"iss" \(issuer\) (response parameter|missing)|response parameter "iss"/.test(detail))
        return new GatehouseError('ERR_OIDC_ISSUER_MISMATCH', { cause: err });
      if (/"state"/.test(detail))
        return new GatehouseError('ERR_OIDC_STATE_MISMATCH', { cause: err });
      if (/JWT|ID Token|id_token/.test(detail))
        return new GatehouseError('ERR_OIDC_ID_TOKEN_INVALID', { cause: err });
    }
    return new GatehouseError(fallback, { cause: err });
  }
  // fetch() rejects with a TypeError on connection failures.
  if (
    err instanceof TypeError ||
    (err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError'))
  ) {
    return new GatehouseError('ERR_OIDC_UNAVAILABLE', { cause: err });
  }
  return new GatehouseError(fallback, { cause: err });
}

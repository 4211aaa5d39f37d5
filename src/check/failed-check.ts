import type { CheckResponse } from '../gen/envoy/service/auth/v3/external_auth_pb.js';
import type { ErrorCode } from '../errors/codes.js';
import type { GatehouseError } from '../errors/gatehouse-error.js';
import { safeReturnPath } from '../oidc/return-url.js';
import { errorPage } from '../pages/pages.js';
import { isBrowserNavigation } from '../pages/reply.js';
import { errorToCheckResponse, localReplyToCheckResponse } from '../response/check-response.js';
import type { RequestView } from '../input/request-view.js';

/**
 * Failures a person in a browser can understand and retry: the identity provider or the session
 * store is unavailable.
 */
const PAGE_CODES: ReadonlySet<ErrorCode> = new Set([
  'ERR_OIDC_UNAVAILABLE',
  'ERR_JWKS_UNAVAILABLE',
  'ERR_SESSION_STORE_UNAVAILABLE',
]);

/**
 * The deny for a Check that failed. A browser navigation (GET/HEAD preferring `text/html`) that
 * failed because the identity provider is unavailable gets Gatehouse's "sign-in service can't be
 * reached" page (same status, `x-gatehouse-error` header, a "Try again" link back to the same
 * path); everything else, API clients included, gets the coded JSON of
 * {@link errorToCheckResponse}.
 */
export function failedCheckResponse(error: GatehouseError, view: RequestView): CheckResponse {
  if (!PAGE_CODES.has(error.code) || !isBrowserNavigation(view.method, view.headers))
    return errorToCheckResponse(error, view.requestId);
  const page = errorPage({
    headers: view.headers,
    error,
    requestId: view.requestId,
    retryUrl: safeReturnPath(view.path),
  });
  return localReplyToCheckResponse(page);
}

/** OIDC sign-in for Gatehouse: discovery, sign-in, callback, refresh, sign-out, central-host hand-off. */
export {
  createOidcClient,
  type OidcClient,
  type OidcClientOptions,
  type OidcClientState,
  type OidcMetadata,
} from './client.js';
export {
  isAllowedHost,
  isSafeReturnPath,
  requireReturnPath,
  safeAbsoluteReturn,
  safeReturnPath,
  type AbsoluteReturnOptions,
} from './return-url.js';
export {
  DEFAULT_TXN_TTL_SECONDS,
  TXN_COOKIE_NAME,
  startSignIn,
  txnClearCookie,
  txnSetCookie,
  type SignInStart,
  type StartSignInOptions,
  type TxnCookie,
} from './sign-in.js';
export {
  completeSignIn,
  type CompleteSignInOptions,
  type IdTokenClaims,
  type OidcTokens,
  type SignInResult,
} from './callback.js';
export { refreshSession, type RefreshResult, type RefreshSessionOptions } from './refresh.js';
export {
  LOCAL_SIGNED_OUT_PATH,
  assertSameOriginRequest,
  isSameOriginRequest,
  signOutLocation,
  type RequestHeaders,
  type SignOutOptions,
} from './sign-out.js';
export {
  HANDOFF_REQUEST_PARAM,
  HANDOFF_TOKEN_PARAM,
  HANDOFF_TTL_SECONDS,
  acceptHandoffRequest,
  completeHandoff,
  issueHandoff,
  startHandoff,
  type AcceptHandoffRequestOptions,
  type CompleteHandoffOptions,
  type HandoffTarget,
  type IssueHandoffOptions,
  type StartHandoffOptions,
} from './handoff.js';
export { createReplayCache, defaultReplayCache, type ReplayCache } from './replay-cache.js';

/**
 * The callback: the IdP sends the browser back to `/.gatehouse/callback?code=…&state=…&iss=…`.
 * Every check that can be done locally runs before the code is exchanged, in this order:
 * transaction cookie (present, authentic, unexpired, for this host), `state`, RFC 9207 `iss`,
 * single use of `state`; then the exchange (with the PKCE verifier) and the ID token checks
 * (signature, iss, aud, azp, exp, iat, nonce) in openid-client.
 */
import { timingSafeEqual } from 'node:crypto';
import * as oidc from 'openid-client';
import { GatehouseError } from '../errors/gatehouse-error.js';
import type { OidcClient } from './client.js';
import { shortfalls } from '../decision/step-up.js';
import { authenticationFacts } from '../identity/from-bearer.js';
import { openTransaction, type HandoffTarget, type StepUpTarget } from './internal/transaction.js';
import { mapOidcError } from './internal/map-error.js';
import { defaultReplayCache, type ReplayCache } from './replay-cache.js';
import { requireReturnPath } from './return-url.js';

/** Options for {@link completeSignIn}. */
export interface CompleteSignInOptions {
  readonly client: OidcClient;
  /** The full callback URL as received, including the query. */
  readonly currentUrl: URL;
  /** Value of the `__Host-gatehouse-txn` cookie, if the request had one. */
  readonly txnCookieValue: string | undefined;
  readonly txnKey: Uint8Array;
  /** The same redirect URI `startSignIn` used (sent again to the token endpoint). */
  readonly redirectUri: string | URL;
  /** Default: the current time. Governs the transaction's expiry and the replay cache. */
  readonly now?: Date;
  /** Default: a process-wide cache (per replica). */
  readonly replayCache?: ReplayCache;
}

/** Tokens from the token endpoint. Never logged, never sent to the upstream. */
export interface OidcTokens {
  readonly id_token: string;
  readonly access_token?: string;
  readonly refresh_token?: string;
  /** Seconds, as the IdP returned it. */
  readonly expires_in?: number;
}

/** Verified ID token claims. */
export type IdTokenClaims = Readonly<oidc.IDToken>;

/** Result of {@link completeSignIn}. */
export interface SignInResult {
  readonly claims: IdTokenClaims;
  readonly tokens: OidcTokens;
  /** Safe same-origin path to redirect to (without the code). */
  readonly returnTo: string;
  /** Central sign-in host: where to hand the identity off (see `issueHandoff`). */
  readonly handoff?: HandoffTarget;
}

/**
 * Complete sign-in. The caller clears the transaction cookie whatever the outcome, answers
 * with `Referrer-Policy: no-referrer`, and redirects to `returnTo`.
 *
 * @throws GatehouseError `ERR_OIDC_TXN_MISSING`, `ERR_OIDC_TXN_EXPIRED`, `ERR_OIDC_TXN_INVALID`,
 *   `ERR_OIDC_STATE_MISMATCH`, `ERR_OIDC_ISSUER_MISMATCH`, `ERR_OIDC_STATE_REPLAYED`,
 *   `ERR_OIDC_PROVIDER_ERROR`, `ERR_OIDC_EXCHANGE`, `ERR_OIDC_NONCE_MISMATCH`,
 *   `ERR_OIDC_ID_TOKEN_INVALID`, `ERR_OIDC_UNAVAILABLE`; for a step-up,
 *   `ERR_STEP_UP_USER_CHANGED` and `ERR_STEP_UP_NOT_SATISFIED` (see {@link checkStepUp}).
 * @example
 *   const { claims, tokens, returnTo } = await completeSignIn({ client, txnKey, redirectUri,
 *     currentUrl: new URL(`https://${host}${path}`), txnCookieValue: cookies.get(TXN_COOKIE_NAME) });
 */
export async function completeSignIn(options: CompleteSignInOptions): Promise<SignInResult> {
  const now = options.now ?? new Date();
  const redirectUri = new URL(options.redirectUri);
  const txn = await openTransaction(options.txnCookieValue, options.txnKey, redirectUri.host, now);
  if (txn.kind !== 'oidc')
    throw new GatehouseError('ERR_OIDC_TXN_INVALID', {
      cause: new Error('hand-off transaction presented to the OIDC callback'),
    });
  // Checked again now, not only when stored: a forged transaction (a leaked key) must not
  // redirect anywhere but this origin.
  const returnTo = requireReturnPath(txn.returnTo);

  const params = options.currentUrl.searchParams;
  for (const name of ['state', 'code', 'iss', 'error']) {
    if (params.getAll(name).length > 1)
      throw new GatehouseError(
        name === 'state'
          ? 'ERR_OIDC_STATE_MISMATCH'
          : name === 'iss'
            ? 'ERR_OIDC_ISSUER_MISMATCH'
            : 'ERR_OIDC_PROVIDER_ERROR',
        { cause: new Error(`duplicate ${name} parameter`) },
      );
  }
  const state = params.get('state');
  if (state === null || !constantEquals(state, txn.state)) {
    throw new GatehouseError('ERR_OIDC_STATE_MISMATCH', {
      cause: new Error(state === null ? 'state missing' : 'state differs'),
    });
  }

  const config = await options.client.configuration();
  const server = config.serverMetadata();
  // RFC 9207 mix-up defence: checked here so it has its own code (openid-client checks it too).
  const iss = params.get('iss');
  if (
    (iss === null && server.authorization_response_iss_parameter_supported === true) ||
    (iss !== null && iss !== server.issuer)
  ) {
    throw new GatehouseError('ERR_OIDC_ISSUER_MISMATCH', {
      cause: new Error(iss === null ? 'iss parameter missing' : 'iss parameter differs'),
    });
  }

  // Single use, recorded before the exchange so two concurrent replays cannot both proceed.
  const cache = options.replayCache ?? defaultReplayCache;
  if (!(await cache.claim(`state:${txn.state}`, txn.exp * 1000, now.getTime())))
    throw new GatehouseError('ERR_OIDC_STATE_REPLAYED');

  if (params.has('error'))
    throw new GatehouseError('ERR_OIDC_PROVIDER_ERROR', {
      cause: new Error(`authorization error ${params.get('error') ?? ''}`),
    });

  // openid-client derives the token request's redirect_uri from this URL minus its query:
  // rebuild it on the registered redirect URI so a Host header cannot change it.
  const callbackUrl = new URL(redirectUri.href);
  callbackUrl.search = options.currentUrl.search;

  let response: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
  try {
    response = await oidc.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: txn.codeVerifier,
      expectedState: txn.state,
      expectedNonce: txn.nonce,
      idTokenExpected: true,
    });
  } catch (err) {
    throw mapOidcError(err, 'ERR_OIDC_EXCHANGE');
  }
  const claims = response.claims();
  if (claims === undefined || response.id_token === undefined)
    throw new GatehouseError('ERR_OIDC_ID_TOKEN_INVALID', { cause: new Error('no ID token') });
  // Belt and braces: openid-client compared the nonce; a missing nonce must never pass.
  if (typeof claims.nonce !== 'string' || !constantEquals(claims.nonce, txn.nonce))
    throw new GatehouseError('ERR_OIDC_NONCE_MISMATCH');
  if (txn.stepUp !== undefined) checkStepUp(txn.stepUp, claims, now);

  return {
    claims,
    tokens: tokensOf(response),
    returnTo,
    ...(txn.handoff === undefined ? {} : { handoff: txn.handoff }),
  };
}

/**
 * A step-up's ID token must be for the user who stepped up and satisfy what was asked: with
 * `max_age` sent, an `auth_time` is required (OIDC Core §3.1.3.7 rule 13) and must be recent
 * enough; with `acr_values` sent, its `acr` must be one of them. Otherwise the sign-in is
 * refused (an error page, not another trip to the IdP: no loop). The comparison is the one the
 * Check path uses ({@link shortfalls}), so a session issued here passes the Check that follows.
 *
 * @throws GatehouseError `ERR_STEP_UP_USER_CHANGED`, `ERR_STEP_UP_NOT_SATISFIED`.
 */
export function checkStepUp(stepUp: StepUpTarget, claims: IdTokenClaims, now: Date): void {
  if (stepUp.sub !== undefined && claims.sub !== stepUp.sub)
    throw new GatehouseError('ERR_STEP_UP_USER_CHANGED');
  const missing = shortfalls(
    { maxAuthAgeSeconds: stepUp.maxAge, acrValues: stepUp.acrValues },
    authenticationFacts(claims),
    Math.floor(now.getTime() / 1000),
  );
  if (missing.length > 0)
    throw new GatehouseError('ERR_STEP_UP_NOT_SATISFIED', {
      cause: new Error(`the new ID token falls short: ${missing.join(', ')}`),
    });
}

/** The token fields Gatehouse keeps from a token endpoint response. */
export function tokensOf(response: oidc.TokenEndpointResponse): OidcTokens {
  return {
    id_token: response.id_token ?? '',
    ...(response.access_token === undefined ? {} : { access_token: response.access_token }),
    ...(response.refresh_token === undefined ? {} : { refresh_token: response.refresh_token }),
    ...(response.expires_in === undefined ? {} : { expires_in: response.expires_in }),
  };
}

function constantEquals(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

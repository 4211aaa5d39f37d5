import { parseCookieHeader } from '../identity/session/cookies.js';
import type { ErrorCode } from '../errors/codes.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import type { AuthenticatedIdentity } from '../input/types.js';
import { groupsFromClaims, asJsonObject } from '../identity/groups.js';
import { identityFromSession } from '../identity/from-session.js';
import { authenticationFacts } from '../identity/from-bearer.js';
import type { KeyRing } from '../keys/key-ring.js';
import { completeSignIn, type IdTokenClaims, type OidcTokens } from './callback.js';
import { acceptHandoffRequest, completeHandoff, issueHandoff, startHandoff } from './handoff.js';
import type { OidcClient } from './client.js';
import { TXN_COOKIE_NAME, startSignIn, txnClearCookie, txnSetCookie } from './sign-in.js';
import { refreshSession } from './refresh.js';
import type { ReplayCache } from './replay-cache.js';
import { isAllowedHost, isSafeReturnPath, requireReturnPath } from './return-url.js';
import { isSameOriginRequest, signOutLocation } from './sign-out.js';
import { PATHS, errorPage, signOutConfirmPage } from '../pages/pages.js';
import { redirectReply, type LocalReply } from '../pages/reply.js';
import { sessionClearCookie, sessionSetCookie } from '../identity/session/cookie.js';
import type { SessionBook } from '../identity/session/book.js';
import type { SessionInput, VerifiedSession } from '../identity/session/types.js';
import type { SignInFlow, StepUpRequest } from '../identity/runtime.js';
import type { StepUpTarget } from './internal/transaction.js';
import type { RequestView } from '../input/request-view.js';

export interface SignInFlowOptions {
  readonly client: OidcClient;
  readonly ring: KeyRing;
  /** Server-side sessions: sign-in creates the record, refresh updates it, sign-out revokes it. */
  readonly sessions: SessionBook;
  /** Encrypts sign-in transaction cookies; a key of its own (derived from `session.secret`). */
  readonly txnKey: Uint8Array;
  readonly cookieName: string;
  readonly groupsClaim: string;
  readonly postLogoutRedirectPath: string;
  /**
   * Central sign-in host: the only host whose callback is registered at the IdP. Other hosts
   * send the browser there and receive the identity back in an encrypted, single-use hand-off.
   */
  readonly centralHost?: string;
  /** Hosts the central host may hand identities to (exact, or `*.example.com`). */
  readonly allowedHosts: readonly string[];
  /** Encrypts hand-off tokens (which are signed by `ring`); shared by every Gatehouse replica. */
  readonly handoffKey: Uint8Array;
  /**
   * `device.certificate.bind_sessions`: a session signed in with a client certificate
   * (`RequestView.deviceFingerprint`) is bound to it. A refresh keeps the binding.
   */
  readonly bindSessionsToDevice?: boolean;
  /**
   * Least time between two refresh grants for one session (by `sid`): meanwhile the last
   * outcome (the renewed cookie, or "failed") is reused, so a client that ignores `Set-Cookie`
   * cannot make Gatehouse call the IdP on every request. Default 60000 ms.
   */
  readonly refreshMinIntervalMs?: number;
  /**
   * Where single-use values are claimed: the callback's `state` (`signIn`) and the hand-off's
   * transaction and `jti` (`handoff`). Gatehouse passes the session store's (shared by every
   * replica with Redis); default the process-wide in-memory cache.
   */
  readonly replay?: { readonly signIn: ReplayCache; readonly handoff: ReplayCache };
  /** Told every outcome as it happens; logging, metrics and tracing subscribe. Must not throw. */
  readonly onEvent: (event: SignInEvent) => void;
}

/** The request an event is about, so its log line can be found next to its decision line. */
export interface SignInEventRequest {
  readonly requestId: string;
  readonly host: string;
}

/**
 * What the sign-in flow reports. Subscribers switch on `type`, never on a log message: the
 * logging subscriber words the lines, metrics count, tracing annotates the current span.
 */
export type SignInEvent =
  /** A redirect to the IdP (or the central host): a browser denied while signed out, or `/.gatehouse/sign_in`. */
  | {
      readonly type: 'sign-in-started';
      readonly reason: 'unauthenticated' | 'sign_in_path' | 'step_up';
      readonly request: SignInEventRequest;
    }
  /** Starting failed (the IdP unreachable, a bad hand-off request); the Check answers with the error. */
  | {
      readonly type: 'sign-in-start-failed';
      readonly code: ErrorCode;
      readonly request: SignInEventRequest;
    }
  /** A callback issued a session. */
  | {
      readonly type: 'sign-in-completed';
      readonly sub: string;
      readonly request: SignInEventRequest;
    }
  /** The central host handed the identity to `toHost`. */
  | {
      readonly type: 'sign-in-handed-off';
      readonly sub: string;
      readonly toHost: string;
      readonly request: SignInEventRequest;
    }
  /** A callback failed; the browser got the error page. */
  | {
      readonly type: 'sign-in-failed';
      readonly code: ErrorCode;
      readonly request: SignInEventRequest;
    }
  /** Sign-out could not reach the IdP's end-session endpoint; the local session ends anyway. */
  | {
      readonly type: 'end-session-unavailable';
      readonly code: ErrorCode;
      readonly request: SignInEventRequest;
    }
  | {
      readonly type: 'signed-out';
      readonly sub: string | undefined;
      /** True when the browser is sent to the IdP's end-session endpoint. */
      readonly idpLogout: boolean;
      readonly request: SignInEventRequest;
    }
  /** An expired session renewed with its refresh token. */
  | { readonly type: 'session-refreshed'; readonly sub: string }
  /** The refresh grant failed; the user signs in again. */
  | { readonly type: 'session-refresh-failed'; readonly code: ErrorCode }
  /** An expired session without a refresh token: nothing to renew it with. */
  | { readonly type: 'session-refresh-unavailable' };

/** Sessions whose last refresh outcome is remembered at most (oldest forgotten first). */
const MAX_REMEMBERED_REFRESHES = 10_000;

/** ID token claims not worth a place in the session cookie. */
const PROTOCOL_CLAIMS = new Set([
  'iss',
  'aud',
  'azp',
  'exp',
  'iat',
  'nbf',
  'nonce',
  'at_hash',
  'c_hash',
  's_hash',
  'auth_time',
  'sid',
  'jti',
]);

function where(view: RequestView): SignInEventRequest {
  return { requestId: view.requestId, host: view.host };
}

function origin(view: RequestView): string {
  return `${view.scheme}://${view.host}`;
}

function callbackUri(view: RequestView): string {
  return `${origin(view)}${PATHS.callback}`;
}

function sessionFromClaims(
  claims: Readonly<Record<string, unknown>>,
  options: SignInFlowOptions,
  tokens: { refresh_token?: string | undefined; id_token?: string | undefined },
): SessionInput {
  const kept: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(claims)) if (!PROTOCOL_CLAIMS.has(k)) kept[k] = v;
  const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
  return {
    sub: String(claims['sub']),
    email: str(claims['email']),
    email_verified: claims['email_verified'] === true,
    name: str(claims['name']),
    groups: groupsFromClaims(claims, options.groupsClaim),
    idp_iss: String(claims['iss'] ?? options.client.issuer.href),
    // For back-channel logout; a refresh whose ID token has no sid keeps the session's.
    ...(typeof claims['sid'] === 'string' && claims['sid'] !== ''
      ? { idp_sid: claims['sid'] }
      : {}),
    claims: asJsonObject(kept),
    ...(tokens.refresh_token === undefined ? {} : { refresh_token: tokens.refresh_token }),
    ...(tokens.id_token === undefined ? {} : { id_token: tokens.id_token }),
  };
}

/** What the transaction records of a step-up: what is sent to the IdP, and who asked. */
function stepUpTarget(request: StepUpRequest): StepUpTarget {
  const { stepUp, sub } = request;
  return {
    ...(stepUp.maxAuthAgeSeconds === undefined ? {} : { maxAge: stepUp.maxAuthAgeSeconds }),
    ...(stepUp.acrValues === undefined ? {} : { acrValues: stepUp.acrValues }),
    ...(sub === undefined ? {} : { sub }),
  };
}

/**
 * How the user authenticated, from the sign-in ID token: kept in the session for step-up. Set
 * only at sign-in; a refresh keeps the session's (a refresh is not an authentication).
 */
function authenticationOf(
  claims: Readonly<Record<string, unknown>>,
): Pick<SessionInput, 'idp_auth_time' | 'acr' | 'amr'> {
  const facts = authenticationFacts(claims);
  return {
    ...(facts.auth_time === undefined ? {} : { idp_auth_time: facts.auth_time }),
    ...(facts.acr === undefined ? {} : { acr: facts.acr }),
    ...(facts.amr === undefined ? {} : { amr: facts.amr }),
  };
}

/**
 * Sign-in, callback, refresh and sign-out for one identity provider, answered through the
 * Check response: Envoy needs no route or cluster of its own for any of it.
 */
export function createSignInFlow(options: SignInFlowOptions): SignInFlow {
  // Per session id: the refresh in flight or its outcome, until refreshMinIntervalMs after it settled.
  const refreshes = new Map<
    string,
    {
      readonly run: Promise<
        { identity: AuthenticatedIdentity; cookie: string | undefined } | undefined
      >;
      settledAt?: number;
    }
  >();
  const refreshWindowMs = options.refreshMinIntervalMs ?? 60_000;

  const central = options.centralHost?.toLowerCase();
  const isCentral = (view: RequestView) => central !== undefined && view.host === central;

  const emit = options.onEvent;

  /** Run a sign-in start, reporting whether it redirected or failed. */
  async function started(
    view: RequestView,
    reason: 'unauthenticated' | 'sign_in_path' | 'step_up',
    begin: () => Promise<LocalReply>,
  ): Promise<LocalReply> {
    try {
      const reply = await begin();
      emit({ type: 'sign-in-started', reason, request: where(view) });
      return reply;
    } catch (err) {
      emit({
        type: 'sign-in-start-failed',
        code: GatehouseError.from(err).code,
        request: where(view),
      });
      throw err;
    }
  }

  async function redirectToIdp(
    view: RequestView,
    returnTo: string,
    stepUp?: StepUpTarget,
  ): Promise<LocalReply> {
    if (central !== undefined && !isCentral(view)) {
      // The central host's hand-off carries no step-up yet: refuse rather than sign in without it.
      if (stepUp !== undefined)
        throw new GatehouseError('ERR_STEP_UP_REQUIRED', {
          cause: new Error('step-up through a central sign-in host is not supported'),
        });
      // Another host: sign in through the central host, bound to this browser by the txn cookie.
      const { location, txnCookie } = await startHandoff({
        centralSignInUrl: `${view.scheme}://${central}${PATHS.signIn}`,
        host: view.host,
        returnTo,
        txnKey: options.txnKey,
        ring: options.ring,
      });
      return redirectReply(location, [['set-cookie', txnSetCookie(txnCookie)]]);
    }
    const { location, txnCookie } = await startSignIn({
      client: options.client,
      redirectUri: callbackUri(view),
      returnTo,
      txnKey: options.txnKey,
      ...(stepUp === undefined ? {} : { stepUp }),
    });
    return redirectReply(location, [['set-cookie', txnSetCookie(txnCookie)]]);
  }

  async function signedIn(
    view: RequestView,
    claims: IdTokenClaims,
    tokens: OidcTokens,
    returnTo: string,
    extra: [string, string][],
  ): Promise<LocalReply> {
    // A new session (and session id) at every sign-in: no fixation. Bound to this host.
    const issued = await options.sessions.issue(
      // The ID token is not kept: it served its purpose at sign-in, and sign-out no longer sends it.
      {
        ...sessionFromClaims(claims, options, { refresh_token: tokens.refresh_token }),
        ...authenticationOf(claims),
        host: view.host,
        ...(options.bindSessionsToDevice === true && view.deviceFingerprint !== undefined
          ? { device_x5t: view.deviceFingerprint }
          : {}),
      },
    );
    emit({ type: 'sign-in-completed', sub: claims.sub, request: where(view) });
    // Redirect to a URL without the code; no-referrer keeps the callback URL from leaking. The
    // path is checked once more at the moment it becomes a Location (issue 12 point 8).
    return redirectReply(requireReturnPath(returnTo), [
      [
        'set-cookie',
        sessionSetCookie(options.cookieName, issued.cookieValue, issued.maxAgeSeconds),
      ],
      ...extra,
    ]);
  }

  async function signInPath(view: RequestView): Promise<LocalReply> {
    const query = new URLSearchParams(view.path.slice(view.pathname.length + 1));
    const request = query.get('request');
    if (request !== null && central !== undefined && isCentral(view)) {
      // The central host, asked by a protected host to sign a user in for it.
      const target = await acceptHandoffRequest({
        request,
        ring: options.ring,
        centralHost: central,
        allowedHosts: options.allowedHosts,
      });
      const { location, txnCookie } = await startSignIn({
        client: options.client,
        redirectUri: callbackUri(view),
        returnTo: '/',
        txnKey: options.txnKey,
        handoff: target,
      });
      return redirectReply(location, [['set-cookie', txnSetCookie(txnCookie)]]);
    }
    return redirectToIdp(view, query.get('rd') ?? '/');
  }

  return {
    start: (view, returnTo, stepUp) =>
      started(view, stepUp === undefined ? 'unauthenticated' : 'step_up', () =>
        redirectToIdp(view, returnTo, stepUp === undefined ? undefined : stepUpTarget(stepUp)),
      ),

    signIn: (view) => started(view, 'sign_in_path', () => signInPath(view)),

    async callback(view) {
      const cookies = parseCookieHeader(view.headers['cookie']);
      const clearTxn: [string, string] = ['set-cookie', txnClearCookie()];
      const query = new URLSearchParams(view.path.slice(view.pathname.length + 1));
      try {
        const handoff = query.get('handoff');
        if (handoff !== null) {
          if (central === undefined || isCentral(view))
            throw new GatehouseError('ERR_HANDOFF_INVALID');
          const result = await completeHandoff({
            token: handoff,
            txnCookieValue: cookies.get(TXN_COOKIE_NAME),
            txnKey: options.txnKey,
            handoffKey: options.handoffKey,
            ring: options.ring,
            host: view.host,
            centralHost: central,
            ...(options.replay === undefined ? {} : { replayCache: options.replay.handoff }),
          });
          return await signedIn(view, result.claims, result.tokens, result.returnTo, [clearTxn]);
        }
        const result = await completeSignIn({
          client: options.client,
          currentUrl: new URL(`${origin(view)}${view.path}`),
          txnCookieValue: cookies.get(TXN_COOKIE_NAME),
          txnKey: options.txnKey,
          redirectUri: callbackUri(view),
          ...(options.replay === undefined ? {} : { replayCache: options.replay.signIn }),
        });
        if (result.handoff !== undefined && central !== undefined) {
          // Checked again where it is used, like the return path: a forged transaction (a leaked
          // secret) must not hand an identity to a host this deployment does not protect.
          if (
            !isAllowedHost(result.handoff.host, options.allowedHosts) ||
            !isSafeReturnPath(result.handoff.returnTo)
          ) {
            throw new GatehouseError('ERR_HANDOFF_INVALID', {
              cause: new Error('hand-off target not allowed'),
            });
          }
          const { location } = await issueHandoff({
            target: result.handoff,
            claims: result.claims,
            tokens: result.tokens,
            ring: options.ring,
            handoffKey: options.handoffKey,
            centralHost: central,
          });
          emit({
            type: 'sign-in-handed-off',
            sub: result.claims.sub,
            toHost: result.handoff.host,
            request: where(view),
          });
          // Same scheme as this request (https in production; http only on a development loopback).
          return redirectReply(
            view.scheme === 'http' ? location.replace(/^https:/, 'http:') : location,
            [clearTxn],
          );
        }
        return await signedIn(view, result.claims, result.tokens, result.returnTo, [clearTxn]);
      } catch (err) {
        const error = GatehouseError.from(err);
        emit({ type: 'sign-in-failed', code: error.code, request: where(view) });
        const reply = errorPage({
          headers: view.headers,
          error,
          requestId: view.requestId,
          retryUrl: PATHS.signIn,
        });
        return { ...reply, headers: [...reply.headers, clearTxn] };
      }
    },

    async signOut(view, session) {
      if (view.method === 'GET' || view.method === 'HEAD') {
        // A GET never signs out (a cross-site <img> or link could): it shows a POST form.
        return signOutConfirmPage({
          headers: view.headers,
          host: view.host,
          signedIn: session !== undefined,
          email: session?.email ?? null,
        });
      }
      if (view.method !== 'POST') throw new GatehouseError('ERR_SIGN_OUT_FORBIDDEN');
      if (!isSameOriginRequest(view.headers, view.host))
        throw new GatehouseError('ERR_SIGN_OUT_FORBIDDEN');
      // The record goes first, for every replica: a copy of the cookie is refused from now on.
      // When the store cannot be reached this fails (ERR_SESSION_STORE_UNAVAILABLE) rather than
      // pretending the session ended.
      if (session !== undefined) await options.sessions.revoke(session.sid);
      const clear: [string, string] = ['set-cookie', sessionClearCookie(options.cookieName)];
      const postLogout = `${origin(view)}${options.postLogoutRedirectPath}`;
      let location = options.postLogoutRedirectPath;
      try {
        // No id_token_hint: this is a URL the browser keeps (issue 12 point 1); client_id stands in.
        location = await signOutLocation({
          client: options.client,
          postLogoutRedirectUri: postLogout,
          allowedPostLogout: (url) => url.href === new URL(postLogout).href,
          localSignedOutPath: options.postLogoutRedirectPath,
        });
      } catch (err) {
        // The IdP is unreachable: the local session still ends.
        emit({
          type: 'end-session-unavailable',
          code: GatehouseError.from(err).code,
          request: where(view),
        });
      }
      emit({
        type: 'signed-out',
        sub: session?.sub,
        idpLogout: location !== options.postLogoutRedirectPath,
        request: where(view),
      });
      return { ...redirectReply(location, [clear]), status: 303 };
    },

    refresh(session: VerifiedSession) {
      const refreshToken = session.refresh_token;
      if (refreshToken === undefined) {
        emit({ type: 'session-refresh-unavailable' });
        return Promise.resolve(undefined);
      }
      // Concurrent requests with the same expired session share one refresh (refresh tokens may
      // be single-use), and its outcome is reused for refreshMinIntervalMs after it settled: a
      // client that ignores Set-Cookie gets the same renewed cookie (or the same refusal)
      // without another call to the IdP. Sids come from authentic sessions only.
      const now = Date.now();
      const known = refreshes.get(session.sid);
      if (
        known !== undefined &&
        (known.settledAt === undefined || now - known.settledAt < refreshWindowMs)
      )
        return known.run;
      refreshes.delete(session.sid);
      if (refreshes.size >= MAX_REMEMBERED_REFRESHES)
        forgetOldRefreshes(refreshes, refreshWindowMs, now);
      const run = (async () => {
        try {
          // The refresh grant runs under the store's lock: one replica at a time (refresh tokens
          // may be single-use); a replica that loses the race reuses the winner's record.
          const renewed = await options.sessions.refresh(session, async () => {
            // The refreshed ID token must be for the same user as the session it renews.
            const { claims, tokens } = await refreshSession({
              client: options.client,
              refreshToken,
              expectedSubject: session.sub,
            });
            const base =
              claims === undefined
                ? session
                : { ...session, ...sessionFromClaims(claims, options, {}) };
            const next: SessionInput = {
              ...base,
              sid: session.sid,
              auth_time: session.auth_time,
              refresh_token: tokens.refresh_token ?? refreshToken,
            };
            return next;
          });
          if (renewed === undefined) throw new GatehouseError('ERR_SESSION_REVOKED');
          emit({ type: 'session-refreshed', sub: session.sub });
          // Same session id, a new handle (new `iat`), for the record's remaining lifetime.
          return {
            identity: identityFromSession(renewed.session),
            cookie: sessionSetCookie(
              options.cookieName,
              renewed.cookieValue,
              renewed.maxAgeSeconds,
            ),
          };
        } catch (err) {
          emit({ type: 'session-refresh-failed', code: GatehouseError.from(err).code });
          return undefined;
        }
      })();
      const entry: { readonly run: typeof run; settledAt?: number } = { run };
      refreshes.set(session.sid, entry);
      // `run` never rejects: its errors end as "failed" (undefined) above.
      void run.then(() => {
        entry.settledAt = Date.now();
      });
      return run;
    },
  };
}

/** Make room: drop outcomes past their window, then the oldest entries (Map keeps insertion order). */
function forgetOldRefreshes(
  refreshes: Map<string, { settledAt?: number }>,
  windowMs: number,
  now: number,
): void {
  for (const [sid, entry] of refreshes)
    if (entry.settledAt !== undefined && now - entry.settledAt >= windowMs) refreshes.delete(sid);
  for (const sid of refreshes.keys()) {
    if (refreshes.size < MAX_REMEMBERED_REFRESHES) break;
    refreshes.delete(sid);
  }
}

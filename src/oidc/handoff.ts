/**
 * Central sign-in host: one redirect URI (`https://<central>/.gatehouse/callback`) registered at
 * the IdP serves many protected hosts. See docs/reference/oidc.md for the sequence.
 *
 * Protected host P                     Central host C                         IdP
 *  startHandoff → txn cookie (nonce) on P,
 *  302 https://C/.gatehouse/sign_in?request=<JWS{host:P, return_to, nonce}>
 *                                       acceptHandoffRequest → target
 *                                       startSignIn({handoff: target}) ──────→ sign-in
 *                                       completeSignIn → {handoff: target} ←── callback
 *                                       issueHandoff → 302 https://P/.gatehouse/callback?handoff=<JWE(JWS)>
 *  completeHandoff: consume the transaction, decrypt, verify the signature, aud = P, iss = C,
 *  exp (60 s), nonce = txn cookie's nonce, jti unused
 *
 * A step-up (the policy on P asked for `max_auth_age_seconds` / `acr_values`) travels the same
 * way: P's transaction records it, the signed request carries it to C, C sends the IdP
 * `max_age` / `acr_values` and checks the new ID token at its callback (as the direct path
 * does), and P checks the handed-off claims (`sub`, `auth_time`, `acr`) against its own
 * transaction again before it issues the session: P never relies on C having asked.
 *
 * Identity that crosses hosts is SIGNED with Gatehouse's signing key (the ring every replica of
 * the deployment shares) and verified by the receiver: the request is a JWS, the token a JWS
 * (sign-then-encrypt) inside a `dir` + `A256GCM` JWE under the hand-off key, which only keeps the
 * tokens it carries confidential. Whoever holds the session secret alone (from which the
 * transaction and hand-off keys are derived) can therefore decrypt, but never mint an identity.
 * Each has its own `typ`, so neither can stand in for the other, nor for a transaction cookie or
 * a session. A transaction is consumed by the first hand-off presented with it, whether that
 * attempt succeeds or fails.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';
import type { KeyRing } from '../keys/key-ring.js';
import { COMPACT_JWE_DIR } from '../keys/jose-header.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { checkStepUp, type IdTokenClaims, type OidcTokens } from './callback.js';
import { assertKey, epochSeconds } from './internal/keys.js';
import { signOwn, verifyOwn } from './internal/own-jws.js';
import {
  openTransaction,
  sealTransaction,
  stepUpClaims,
  stepUpOf,
  type HandoffTarget,
  type StepUpTarget,
  type TxnCookie,
} from './internal/transaction.js';
import { defaultReplayCache, type ReplayCache } from './replay-cache.js';
import {
  isAllowedHost,
  isSafeReturnPath,
  requireReturnPath,
  safeReturnPath,
} from './return-url.js';
import { DEFAULT_TXN_TTL_SECONDS } from './sign-in.js';

export type { HandoffTarget } from './internal/transaction.js';

const REQUEST_TYP = 'gatehouse-handoff-request+jwt';
const TOKEN_TYP = 'gatehouse-handoff+jwt';
/** `typ` of the JWE wrapping a hand-off token. */
const TOKEN_JWE_TYP = 'gatehouse-handoff+jwe';
/** Lifetime of a hand-off token: long enough for one redirect. */
export const HANDOFF_TTL_SECONDS = 60;
/** Query parameter carrying the hand-off request to the central host. */
export const HANDOFF_REQUEST_PARAM = 'request';
/** Query parameter carrying the hand-off token back to the protected host. */
export const HANDOFF_TOKEN_PARAM = 'handoff';

// ── Protected host, step 1 ───────────────────────────────────────────────────────────────────

/** Options for {@link startHandoff}. */
export interface StartHandoffOptions {
  /** The central host's sign-in URL, `https://<central>/.gatehouse/sign_in`. */
  readonly centralSignInUrl: string | URL;
  /** This protected host, `host[:port]` as in the request's `:authority`. */
  readonly host: string;
  /** Where to return on this host; anything unsafe becomes `/`. */
  readonly returnTo: string | undefined;
  readonly txnKey: Uint8Array;
  /** Gatehouse's signing keys: the request is signed with the first. */
  readonly ring: KeyRing;
  readonly now?: Date;
  /** Lifetime of the transaction and the request. Default 600 s. */
  readonly ttlSeconds?: number;
  /** A step-up: asked of the IdP through the central host, checked again at the hand-off. */
  readonly stepUp?: StepUpTarget;
}

/**
 * Protected host: start sign-in through the central host. Answer with a 302 to `location` and
 * set `txnCookie` (with `txnSetCookie`) on this host.
 *
 * @throws GatehouseError `ERR_CONFIG_INVALID` for a bad key or TTL.
 */
export async function startHandoff(
  options: StartHandoffOptions,
): Promise<{ location: string; txnCookie: TxnCookie }> {
  const now = options.now ?? new Date();
  const ttl = options.ttlSeconds ?? DEFAULT_TXN_TTL_SECONDS;
  const central = new URL(options.centralSignInUrl);
  const nonce = randomBytes(32).toString('base64url');
  const returnTo = safeReturnPath(options.returnTo);
  const host = options.host.toLowerCase();
  const stepUp = options.stepUp;
  const txnCookie = await sealTransaction(
    { kind: 'handoff', nonce, returnTo, host, ...(stepUp === undefined ? {} : { stepUp }) },
    options.txnKey,
    now,
    ttl,
  );
  const iat = epochSeconds(now);
  const request = await signOwn(
    options.ring,
    REQUEST_TYP,
    {
      host,
      return_to: returnTo,
      nonce,
      ...(stepUp === undefined ? {} : { step_up: stepUpClaims(stepUp) }),
    },
    (jwt) =>
      jwt
        .setAudience(central.host)
        .setIssuedAt(iat)
        .setExpirationTime(iat + ttl),
  );
  const location = new URL(central.href);
  location.search = '';
  location.searchParams.set(HANDOFF_REQUEST_PARAM, request);
  return { location: location.href, txnCookie };
}

// ── Central host, step 2 ─────────────────────────────────────────────────────────────────────

/** Options for {@link acceptHandoffRequest}. */
export interface AcceptHandoffRequestOptions {
  /** The `request` query parameter. */
  readonly request: string | undefined;
  /** Gatehouse's signing keys: the request must be signed by one of them. */
  readonly ring: KeyRing;
  /** The central host itself (`host[:port]`): the request's audience. */
  readonly centralHost: string;
  /** Protected hosts this central host signs in for (exact, or `*.example.com`). */
  readonly allowedHosts: readonly string[];
  readonly now?: Date;
}

/** A checked hand-off request: where to hand off, and the step-up the protected host asked for. */
export interface HandoffRequest {
  readonly target: HandoffTarget;
  readonly stepUp?: StepUpTarget;
}

/**
 * Central host: check a hand-off request; pass the result to
 * `startSignIn({ handoff: target, stepUp })`.
 *
 * @throws GatehouseError `ERR_HANDOFF_INVALID` (undecryptable, expired, another audience, a
 *   host not allowed, an unsafe return path, a malformed step-up).
 */
export async function acceptHandoffRequest(
  options: AcceptHandoffRequestOptions,
): Promise<HandoffRequest> {
  const payload = await verifySigned(
    options.ring,
    options.request,
    REQUEST_TYP,
    options.now ?? new Date(),
    { audience: options.centralHost.toLowerCase() },
  );
  const host = payload['host'];
  const returnTo = payload['return_to'];
  const nonce = payload['nonce'];
  if (
    typeof host !== 'string' ||
    typeof returnTo !== 'string' ||
    typeof nonce !== 'string' ||
    nonce.length < 32
  )
    invalid('malformed hand-off request');
  if (!isAllowedHost(host, options.allowedHosts)) invalid(`host ${host} is not allowed`);
  if (!isSafeReturnPath(returnTo)) invalid('unsafe return path');
  let stepUp: StepUpTarget | undefined;
  try {
    stepUp = stepUpOf(payload['step_up']);
  } catch {
    invalid('malformed step-up');
  }
  return { target: { host, returnTo, nonce }, ...(stepUp === undefined ? {} : { stepUp }) };
}

// ── Central host, step 3 ─────────────────────────────────────────────────────────────────────

/** Options for {@link issueHandoff}. */
export interface IssueHandoffOptions {
  /** From `completeSignIn(...).handoff`. */
  readonly target: HandoffTarget;
  readonly claims: IdTokenClaims;
  readonly tokens: OidcTokens;
  /** Gatehouse's signing keys: the token is signed with the first. */
  readonly ring: KeyRing;
  /** Encrypts the signed token (it carries the user's tokens). */
  readonly handoffKey: Uint8Array;
  /** The central host (`host[:port]`): the token's issuer. */
  readonly centralHost: string;
  readonly now?: Date;
  /** Default {@link HANDOFF_TTL_SECONDS}. */
  readonly ttlSeconds?: number;
}

/**
 * Central host: after `completeSignIn` returned a `handoff` target, the URL to send the browser
 * to: `https://<protected>/.gatehouse/callback?handoff=<token>`.
 */
export async function issueHandoff(options: IssueHandoffOptions): Promise<{ location: string }> {
  const key = assertKey(options.handoffKey, 'handoffKey');
  const iat = epochSeconds(options.now ?? new Date());
  // Sign, then encrypt: the signature is what the receiver trusts, the encryption keeps the
  // tokens inside confidential in the URL.
  const jws = await signOwn(
    options.ring,
    TOKEN_TYP,
    {
      nonce: options.target.nonce,
      return_to: options.target.returnTo,
      claims: options.claims,
      tokens: options.tokens,
    },
    (jwt) =>
      jwt
        .setIssuer(options.centralHost.toLowerCase())
        .setAudience(options.target.host.toLowerCase())
        .setJti(randomBytes(16).toString('base64url'))
        .setIssuedAt(iat)
        .setExpirationTime(iat + (options.ttlSeconds ?? HANDOFF_TTL_SECONDS)),
  );
  const token = await new CompactEncrypt(new TextEncoder().encode(jws))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', cty: 'JWT', typ: TOKEN_JWE_TYP })
    .encrypt(key);
  const location = new URL(`https://${options.target.host}/.gatehouse/callback`);
  location.searchParams.set(HANDOFF_TOKEN_PARAM, token);
  return { location: location.href };
}

// ── Protected host, step 4 ───────────────────────────────────────────────────────────────────

/** Options for {@link completeHandoff}. */
export interface CompleteHandoffOptions {
  /** The `handoff` query parameter. */
  readonly token: string | undefined;
  /** This host's `__Host-gatehouse-txn` cookie. */
  readonly txnCookieValue: string | undefined;
  readonly txnKey: Uint8Array;
  readonly handoffKey: Uint8Array;
  /** Gatehouse's signing keys: the token must be signed by one of them. */
  readonly ring: KeyRing;
  /** This protected host (`host[:port]`): the token's audience. */
  readonly host: string;
  /** The central host (`host[:port]`): the token's issuer. */
  readonly centralHost: string;
  readonly now?: Date;
  /** Default: the process-wide cache (per replica). */
  readonly replayCache?: ReplayCache;
}

/**
 * Protected host: accept a hand-off token. The caller clears the transaction cookie, starts a
 * session from `claims`/`tokens` and redirects to `returnTo` with `Referrer-Policy: no-referrer`.
 *
 * @throws GatehouseError `ERR_OIDC_TXN_MISSING` / `_EXPIRED` / `_INVALID` (this host's
 *   transaction), `ERR_HANDOFF_INVALID` (tampered, expired, another audience or issuer, nonce not
 *   this browser's), `ERR_HANDOFF_REPLAYED` (jti already used); for a step-up,
 *   `ERR_STEP_UP_USER_CHANGED` / `ERR_STEP_UP_NOT_SATISFIED` (the handed-off ID token claims
 *   fall short of what this host's transaction asked).
 */
export async function completeHandoff(
  options: CompleteHandoffOptions,
): Promise<{ claims: IdTokenClaims; tokens: OidcTokens; returnTo: string }> {
  const key = assertKey(options.handoffKey, 'handoffKey');
  const now = options.now ?? new Date();
  const host = options.host.toLowerCase();
  const txn = await openTransaction(options.txnCookieValue, options.txnKey, host, now);
  if (txn.kind !== 'handoff')
    throw new GatehouseError('ERR_OIDC_TXN_INVALID', {
      cause: new Error('OIDC transaction presented to a hand-off'),
    });
  const replay = options.replayCache ?? defaultReplayCache;
  // The first hand-off presented with this transaction consumes it, whether it then succeeds or
  // fails: a browser's transaction cannot be tried against several tokens.
  if (!(await replay.claim(`handoff-txn:${txn.nonce}`, txn.exp * 1000, now.getTime())))
    throw new GatehouseError('ERR_HANDOFF_REPLAYED', {
      cause: new Error('transaction already used'),
    });
  const payload = await verifySigned(
    options.ring,
    await unwrap(options.token, key),
    TOKEN_TYP,
    now,
    { audience: host, issuer: options.centralHost.toLowerCase() },
  );
  const nonce = payload['nonce'];
  // Binds the token to the browser that started the hand-off (login CSRF / token injection).
  if (typeof nonce !== 'string' || !constantEquals(nonce, txn.nonce))
    invalid('nonce differs from the transaction');
  const claims = payload['claims'];
  const tokens = payload['tokens'];
  const jti = payload['jti'];
  if (
    typeof claims !== 'object' ||
    claims === null ||
    typeof tokens !== 'object' ||
    tokens === null ||
    typeof jti !== 'string'
  )
    invalid('malformed hand-off token');
  if (!(await replay.claim(`handoff:${jti}`, (payload['exp'] as number) * 1000, now.getTime()))) {
    throw new GatehouseError('ERR_HANDOFF_REPLAYED');
  }
  // A step-up is checked here against this host's own transaction, exactly as the direct
  // callback checks it: the claims are the central host's verified ID token claims.
  if (txn.stepUp !== undefined) checkStepUp(txn.stepUp, claims as IdTokenClaims, now);
  // The return path is checked again where it is used (a forged transaction must not redirect off-origin).
  return {
    claims: claims as IdTokenClaims,
    tokens: tokens as OidcTokens,
    returnTo: requireReturnPath(txn.returnTo),
  };
}

/** The signed token inside a hand-off JWE (`dir` + `A256GCM`, exactly the header issueHandoff writes). */
async function unwrap(value: string | undefined, key: Uint8Array): Promise<string> {
  if (value === undefined || value === '' || value.length > 16_384)
    invalid('hand-off value missing or too large');
  if (!COMPACT_JWE_DIR.test(value)) invalid('not a compact dir JWE');
  try {
    const { plaintext, protectedHeader } = await compactDecrypt(value, key, {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    if (protectedHeader.typ !== TOKEN_JWE_TYP || protectedHeader.cty !== 'JWT')
      invalid('unexpected JWE header');
    return new TextDecoder('utf-8', { fatal: false }).decode(plaintext);
  } catch (err) {
    throw GatehouseError.from(err, 'ERR_HANDOFF_INVALID');
  }
}

/** A JWS signed by Gatehouse's ring with exactly `typ`, audience (and issuer). */
async function verifySigned(
  ring: KeyRing,
  value: string | undefined,
  typ: string,
  now: Date,
  expected: { audience: string; issuer?: string },
): Promise<Record<string, unknown>> {
  if (value === undefined || value === '' || value.length > 16_384)
    invalid('hand-off value missing or too large');
  try {
    return await verifyOwn(ring, value, typ, {
      ...expected,
      now,
      maxTokenAge: typ === TOKEN_TYP ? '10 min' : '1 hour',
    });
  } catch (err) {
    throw new GatehouseError('ERR_HANDOFF_INVALID', { cause: err });
  }
}

function invalid(why: string): never {
  throw new GatehouseError('ERR_HANDOFF_INVALID', { cause: new Error(why) });
}

function constantEquals(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

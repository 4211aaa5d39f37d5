/**
 * The sign-in transaction cookie: an encrypted JWT (JWE, `dir` + `A256GCM`, 32-byte key from the
 * caller) holding what the callback needs to verify the response it receives. Encrypted, not
 * only signed, because it carries the PKCE verifier and the nonce.
 */
import { EncryptJWT, jwtDecrypt, errors as joseErrors } from 'jose';
import { GatehouseError } from '../../errors/gatehouse-error.js';
import { TXN_COOKIE_NAME } from '../../identity/session/cookie.js';
import { serializeCookie } from '../../identity/session/cookies.js';
import { assertKey, epochSeconds } from './keys.js';

export { TXN_COOKIE_NAME };
const TXN_TYP = 'gatehouse-txn+jwt';

/** Where the central host hands the identity off to after its callback. */
export interface HandoffTarget {
  /** The protected host (`host[:port]`). */
  readonly host: string;
  /** Same-origin return path on the protected host. */
  readonly returnTo: string;
  /** The nonce bound to the protected host's transaction cookie. */
  readonly nonce: string;
}

/** A step-up sign-in: what was asked of the IdP, checked again in the new ID token. */
export interface StepUpTarget {
  /** `max_age` sent: the new ID token must carry an `auth_time` at most this old. */
  readonly maxAge?: number;
  /** `acr_values` sent: the new ID token's `acr` must be one of them. */
  readonly acrValues?: readonly string[];
  /** The signed-in user stepping up: the new ID token must be for the same `sub`. */
  readonly sub?: string;
}

/** Contents of a transaction cookie. */
export type Transaction =
  | {
      /** An OIDC authorization-code transaction (this host's callback completes it). */
      readonly kind: 'oidc';
      readonly state: string;
      readonly nonce: string;
      readonly codeVerifier: string;
      readonly returnTo: string;
      /** The host whose callback may complete it. */
      readonly host: string;
      readonly iat: number;
      readonly exp: number;
      /** Set on the central sign-in host: hand the identity off instead of starting a session. */
      readonly handoff?: HandoffTarget;
      /** Set when the sign-in is a step-up. */
      readonly stepUp?: StepUpTarget;
    }
  | {
      /** A protected host waiting for a hand-off from the central host. */
      readonly kind: 'handoff';
      readonly nonce: string;
      readonly returnTo: string;
      readonly host: string;
      readonly iat: number;
      readonly exp: number;
      /**
       * Set when the sign-in is a step-up: what this host asked for, checked again in the
       * handed-off ID token claims (whatever the central host did).
       */
      readonly stepUp?: StepUpTarget;
    };

/** The cookie the caller sets (attributes fixed by {@link txnSetCookie}). */
export interface TxnCookie {
  readonly name: typeof TXN_COOKIE_NAME;
  readonly value: string;
  /** Seconds. */
  readonly maxAge: number;
}

/** The `set-cookie` value for a transaction cookie: Secure, HttpOnly, SameSite=Lax, Path=/. */
export function txnSetCookie(cookie: TxnCookie): string {
  return serializeCookie(cookie.name, cookie.value, {
    path: '/',
    secure: true,
    httpOnly: true,
    sameSite: 'Lax',
    maxAge: cookie.maxAge,
  });
}

/** The `set-cookie` value that deletes the transaction cookie (same attributes, Max-Age=0). */
export function txnClearCookie(): string {
  return serializeCookie(TXN_COOKIE_NAME, '', {
    path: '/',
    secure: true,
    httpOnly: true,
    sameSite: 'Lax',
    maxAge: 0,
  });
}

type Body<T> = T extends unknown ? Omit<T, 'iat' | 'exp'> : never;

/** Encrypt a transaction into a cookie. */
export async function sealTransaction(
  txn: Body<Transaction>,
  key: Uint8Array,
  now: Date,
  ttlSeconds: number,
): Promise<TxnCookie> {
  assertKey(key, 'txnKey');
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > 3600) {
    throw new GatehouseError('ERR_CONFIG_INVALID', {
      message: 'ttlSeconds: must be an integer from 1 to 3600',
    });
  }
  const iat = epochSeconds(now);
  const claims: Record<string, unknown> =
    txn.kind === 'oidc'
      ? {
          kind: txn.kind,
          state: txn.state,
          nonce: txn.nonce,
          code_verifier: txn.codeVerifier,
          return_to: txn.returnTo,
          host: txn.host,
          ...(txn.handoff === undefined
            ? {}
            : {
                handoff: {
                  host: txn.handoff.host,
                  return_to: txn.handoff.returnTo,
                  nonce: txn.handoff.nonce,
                },
              }),
          ...(txn.stepUp === undefined ? {} : { step_up: stepUpClaims(txn.stepUp) }),
        }
      : {
          kind: txn.kind,
          nonce: txn.nonce,
          return_to: txn.returnTo,
          host: txn.host,
          ...(txn.stepUp === undefined ? {} : { step_up: stepUpClaims(txn.stepUp) }),
        };
  const value = await new EncryptJWT(claims)
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', typ: TXN_TYP })
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlSeconds)
    .encrypt(key);
  return { name: TXN_COOKIE_NAME, value, maxAge: ttlSeconds };
}

/**
 * Decrypt and check a transaction cookie.
 *
 * @throws GatehouseError `ERR_OIDC_TXN_MISSING` (no cookie), `ERR_OIDC_TXN_EXPIRED`,
 *   `ERR_OIDC_TXN_INVALID` (undecryptable, tampered, wrong type, another host, missing field).
 */
export async function openTransaction(
  value: string | undefined,
  key: Uint8Array,
  expectedHost: string,
  now: Date,
): Promise<Transaction> {
  assertKey(key, 'txnKey');
  if (value === undefined || value === '') throw new GatehouseError('ERR_OIDC_TXN_MISSING');
  if (value.length > 8192)
    throw new GatehouseError('ERR_OIDC_TXN_INVALID', {
      cause: new Error('transaction cookie too large'),
    });
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtDecrypt(value, key, {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
      typ: TXN_TYP,
      currentDate: now,
      requiredClaims: ['iat', 'exp'],
    }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired)
      throw new GatehouseError('ERR_OIDC_TXN_EXPIRED', { cause: err });
    throw new GatehouseError('ERR_OIDC_TXN_INVALID', { cause: err });
  }
  const invalid = (why: string): never => {
    throw new GatehouseError('ERR_OIDC_TXN_INVALID', { cause: new Error(why) });
  };
  const str = (name: string, from: Record<string, unknown> = payload): string => {
    const v = from[name];
    return typeof v === 'string' && v !== '' ? v : invalid(`transaction lacks ${name}`);
  };
  const iat = payload['iat'] as number;
  const exp = payload['exp'] as number;
  if (iat > epochSeconds(now) + 60) invalid('transaction issued in the future');
  const host = str('host');
  if (host.toLowerCase() !== expectedHost.toLowerCase())
    invalid('transaction bound to another host');
  const kind = payload['kind'];
  if (kind === 'handoff') {
    const stepUp = stepUpOf(payload['step_up']);
    return {
      kind,
      nonce: str('nonce'),
      returnTo: str('return_to'),
      host,
      iat,
      exp,
      ...(stepUp === undefined ? {} : { stepUp }),
    };
  }
  if (kind !== 'oidc') return invalid('unknown transaction kind');
  const base = {
    kind,
    state: str('state'),
    nonce: str('nonce'),
    codeVerifier: str('code_verifier'),
    returnTo: str('return_to'),
    host,
    iat,
    exp,
  } as const;
  const stepUp = stepUpOf(payload['step_up']);
  const withStepUp = stepUp === undefined ? base : { ...base, stepUp };
  const handoff = payload['handoff'];
  if (handoff === undefined) return withStepUp;
  if (typeof handoff !== 'object' || handoff === null) return invalid('malformed handoff');
  const h = handoff as Record<string, unknown>;
  return {
    ...withStepUp,
    handoff: { host: str('host', h), returnTo: str('return_to', h), nonce: str('nonce', h) },
  };
}

/** A step-up as claims (`max_age`, `acr_values`, `sub`): in a transaction or a hand-off request. */
export function stepUpClaims(stepUp: StepUpTarget): Record<string, unknown> {
  return {
    ...(stepUp.maxAge === undefined ? {} : { max_age: stepUp.maxAge }),
    ...(stepUp.acrValues === undefined ? {} : { acr_values: [...stepUp.acrValues] }),
    ...(stepUp.sub === undefined ? {} : { sub: stepUp.sub }),
  };
}

/**
 * A `step_up` claim back (see {@link stepUpClaims}); absent is undefined.
 *
 * @throws GatehouseError `ERR_OIDC_TXN_INVALID` when it is malformed (never ignored).
 */
export function stepUpOf(value: unknown): StepUpTarget | undefined {
  if (value === undefined) return undefined;
  const bad = (): never => {
    throw new GatehouseError('ERR_OIDC_TXN_INVALID', { cause: new Error('malformed step_up') });
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad();
  const v = value as Record<string, unknown>;
  const maxAge = v['max_age'];
  const acrValues = v['acr_values'];
  const sub = v['sub'];
  if (
    maxAge !== undefined &&
    (typeof maxAge !== 'number' || !Number.isInteger(maxAge) || maxAge < 0)
  )
    bad();
  if (
    acrValues !== undefined &&
    (!Array.isArray(acrValues) || !acrValues.every((a) => typeof a === 'string'))
  )
    bad();
  if (sub !== undefined && typeof sub !== 'string') bad();
  if (maxAge === undefined && acrValues === undefined) bad();
  return {
    ...(maxAge === undefined ? {} : { maxAge: maxAge as number }),
    ...(acrValues === undefined ? {} : { acrValues: acrValues as string[] }),
    ...(sub === undefined ? {} : { sub: sub as string }),
  };
}

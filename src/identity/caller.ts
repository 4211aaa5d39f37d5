/**
 * Who is asking, as the Check path sees it: one case per situation, each carrying exactly what
 * that case has. The Check handler switches on `kind`; nothing is reconstructed from optional
 * fields.
 */
import { GatehouseError } from '../errors/gatehouse-error.js';
import { ANONYMOUS, type AnonymousIdentity, type AuthenticatedIdentity } from '../input/types.js';
import type { VerifiedSession } from './session/types.js';
import type { ResolvedIdentity } from './resolve.js';

/** Who is asking. */
export type Caller =
  /** The request carried no credential Gatehouse reads. */
  | { readonly kind: 'anonymous'; readonly identity: AnonymousIdentity }
  /** A verified bearer token. */
  | {
      readonly kind: 'bearer';
      readonly identity: AuthenticatedIdentity;
      /** The token's cache key (see `credentialKey`), when caching is on: for assertion reuse. */
      readonly credential: string | undefined;
    }
  /** A verified, live session cookie. */
  | {
      readonly kind: 'session';
      readonly identity: AuthenticatedIdentity;
      readonly session: VerifiedSession;
      /** The cookie's cache key, when caching is on: for assertion reuse. */
      readonly credential: string | undefined;
    }
  /** An authentic session past its `exp`: anonymous until renewed with its refresh token. */
  | {
      readonly kind: 'expired-session';
      readonly identity: AnonymousIdentity;
      readonly session: VerifiedSession;
      /** `ERR_SESSION_EXPIRED`, for logs and metrics. */
      readonly error: GatehouseError;
    }
  /** A bearer token or session cookie was presented and refused: anonymous, with why. */
  | {
      readonly kind: 'refused';
      readonly identity: AnonymousIdentity;
      /** Which credential was refused. */
      readonly presented: 'bearer' | 'session';
      readonly error: GatehouseError;
    };

/** The caller with no credential. */
export const ANONYMOUS_CALLER: Caller = Object.freeze({ kind: 'anonymous', identity: ANONYMOUS });

/**
 * The case a {@link ResolvedIdentity} is. Fails closed: a resolution that fits no case (an
 * authenticated identity without its credential's source) is a refusal.
 */
export function callerOf(resolved: ResolvedIdentity): Caller {
  const { identity, source, error, session } = resolved;
  if (source === 'none') return ANONYMOUS_CALLER;
  if (session?.expired === true && error !== undefined)
    return { kind: 'expired-session', identity: ANONYMOUS, session: session.data, error };
  if (error !== undefined || !identity.authenticated)
    return {
      kind: 'refused',
      identity: ANONYMOUS,
      presented: source,
      error: error ?? unexpected(),
    };
  if (source === 'bearer') return { kind: 'bearer', identity, credential: resolved.credential };
  if (session === undefined || session.expired)
    return { kind: 'refused', identity: ANONYMOUS, presented: source, error: unexpected() };
  return { kind: 'session', identity, session: session.data, credential: resolved.credential };
}

/** The session a caller presented, live or expired (sign-out names its user). */
export function sessionOf(caller: Caller): VerifiedSession | undefined {
  return caller.kind === 'session' || caller.kind === 'expired-session'
    ? caller.session
    : undefined;
}

function unexpected(): GatehouseError {
  // Never expected from resolveIdentity; kept as a refusal rather than trusted.
  return new GatehouseError('ERR_INTERNAL');
}

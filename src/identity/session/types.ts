/**
 * What a Gatehouse session holds.
 */
import type { JsonObject } from '../../input/types.js';

/** The session's content, as the sign-in callback builds it and the Check path reads it. */
export interface SessionData {
  /** Subject at the identity provider. */
  readonly sub: string;
  /** Session id: 128 random bits, base64url. New at every sign-in, kept across refreshes. */
  readonly sid: string;
  readonly email: string | null;
  readonly email_verified: boolean;
  readonly name: string | null;
  readonly groups: readonly string[];
  /** The identity provider's issuer. */
  readonly idp_iss: string;
  /**
   * The identity provider's session id (the ID token's `sid`), when it sent one: what an OIDC
   * back-channel logout token names. Absent in sessions issued before it was kept.
   */
  readonly idp_sid?: string;
  /** When the user signed in (NumericDate); kept across refreshes, for an absolute lifetime. */
  readonly auth_time: number;
  /**
   * The ID token's `auth_time`: when the user last authenticated at the identity provider
   * (NumericDate), when it said. What step-up (`max_auth_age_seconds`) compares against.
   */
  readonly idp_auth_time?: number;
  /** The ID token's `acr` (authentication context class), when it sent one. */
  readonly acr?: string;
  /** The ID token's `amr` (authentication methods), when it sent them. */
  readonly amr?: readonly string[];
  /** Verified ID token claims worth keeping (`{}` when dropped to fit the cookie). */
  readonly claims: JsonObject;
  /**
   * The host (`host[:port]`, lower case) the session was issued for: it is accepted on that
   * host only (unless `session.bind_to_host` is off). Absent in sessions issued before binding.
   */
  readonly host?: string;
  /**
   * SHA-256 (lower-case hex) of the client certificate the session signed in with, when
   * `device.certificate.bind_sessions` bound it (RFC 8705's `cnf.x5t#S256`): it is then accepted
   * only with that certificate. Absent: the session is not bound to a device.
   */
  readonly device_x5t?: string;
  /**
   * The enrolled device (WebAuthn credential id) this session last proved possession of, at
   * `/.gatehouse/devices/verify`; absent until a proof. A refresh keeps it.
   */
  readonly device_id?: string;
  /** When that proof happened (NumericDate). */
  readonly device_proved_at?: number;
  /** Whether the authenticator verified the user (PIN, biometrics) in that proof. */
  readonly device_user_verified?: boolean;
  /** Secret: only ever stored encrypted. */
  readonly refresh_token?: string;
  /**
   * Secret: only ever stored encrypted. The access token from sign-in (or the last refresh),
   * kept only when there is no refresh token and re-validation is on: what re-validation
   * presents to the UserInfo endpoint.
   */
  readonly access_token?: string;
  /** Secret: for `id_token_hint` at sign-out; only ever stored encrypted. */
  readonly id_token?: string;
}

/**
 * Input to `issueSession`. At sign-in leave `sid` and `auth_time` out: a new session id is
 * generated (never reuse one from before sign-in: session fixation). A refresh passes both on.
 */
export type SessionInput = Omit<SessionData, 'sid' | 'auth_time'> & {
  readonly sid?: string;
  readonly auth_time?: number;
};

/** A session whose signature, type, issuer and audience were verified. */
export interface VerifiedSession extends SessionData {
  /** Issued at (NumericDate). */
  readonly iat: number;
  /** Expires at (NumericDate). */
  readonly exp: number;
}

/**
 * The session cookie's `set-cookie` values.
 */
import { serializeCookie, type CookieAttributes } from './cookies.js';

/** Default session cookie name. `__Host-` makes browsers insist on Secure, Path=/ and no Domain. */
export const DEFAULT_SESSION_COOKIE = '__Host-gatehouse';

/**
 * Name of the sign-in transaction cookie (src/oidc/internal/transaction.ts; host-only, Secure,
 * Path=/ by the `__Host-` prefix rules).
 */
export const TXN_COOKIE_NAME = '__Host-gatehouse-txn';

/** Gatehouse's own cookies, never forwarded upstream: the session cookie and the transaction cookie. */
export function ownCookieNames(sessionCookie: string): readonly string[] {
  return [sessionCookie, TXN_COOKIE_NAME];
}

/** The attributes the session cookie is always set and cleared with. */
export const SESSION_COOKIE_ATTRIBUTES: CookieAttributes = Object.freeze({
  path: '/',
  secure: true,
  httpOnly: true,
  sameSite: 'Lax',
});

/**
 * `set-cookie` value that stores a session: Secure, HttpOnly, SameSite=Lax, Path=/, no Domain.
 *
 * @throws Error when the name or value is not a valid cookie name/value (a caller bug).
 * @example
 *   headers.push(['set-cookie', sessionSetCookie(DEFAULT_SESSION_COOKIE, token, 3600)]);
 */
export function sessionSetCookie(name: string, value: string, maxAgeSeconds: number): string {
  return serializeCookie(name, value, { ...SESSION_COOKIE_ATTRIBUTES, maxAge: maxAgeSeconds });
}

/** `set-cookie` value that deletes the session cookie: the same attributes, Max-Age=0. */
export function sessionClearCookie(name: string): string {
  return serializeCookie(name, '', { ...SESSION_COOKIE_ATTRIBUTES, maxAge: 0 });
}

import { DEFAULT_IDENTITY_HEADERS, type IdentityHeaderNames } from './assertion/headers.js';
import { ANONYMOUS_CALLER } from './caller.js';
import { DEFAULT_SESSION_COOKIE, ownCookieNames, sessionClearCookie } from './session/cookie.js';
import type { IdentityRuntime } from './runtime.js';

/**
 * The identity runtime when no identity provider is configured: every caller is anonymous,
 * yet client-supplied identity headers are still stripped on allow.
 */
export function anonymousRuntime(
  headerNames: IdentityHeaderNames = DEFAULT_IDENTITY_HEADERS,
  cookieName = DEFAULT_SESSION_COOKIE,
): IdentityRuntime {
  return {
    enabled: false,
    cookieName,
    ownCookies: ownCookieNames(cookieName),
    headerNames,
    resolve: () => Promise.resolve(ANONYMOUS_CALLER),
    assertion: () => Promise.resolve(undefined),
    jwks: undefined,
    signIn: undefined,
    clearCookie: () => sessionClearCookie(cookieName),
  };
}

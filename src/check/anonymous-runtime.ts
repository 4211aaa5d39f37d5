import { DEFAULT_IDENTITY_HEADERS, type IdentityHeaderNames } from '../assertion/headers.js';
import { ANONYMOUS_CALLER } from '../identity/caller.js';
import { sessionClearCookie } from '../session/cookie.js';
import type { IdentityRuntime } from './identity-runtime.js';

/**
 * The identity runtime when no identity provider is configured: every caller is anonymous,
 * yet client-supplied identity headers are still stripped on allow.
 */
export function anonymousRuntime(
  headerNames: IdentityHeaderNames = DEFAULT_IDENTITY_HEADERS,
  cookieName = '__Host-gatehouse',
): IdentityRuntime {
  return {
    enabled: false,
    cookieName,
    ownCookies: [cookieName, '__Host-gatehouse-txn'],
    headerNames,
    resolve: () => Promise.resolve(ANONYMOUS_CALLER),
    assertion: () => Promise.resolve(undefined),
    jwks: undefined,
    signIn: undefined,
    clearCookie: () => sessionClearCookie(cookieName),
  };
}

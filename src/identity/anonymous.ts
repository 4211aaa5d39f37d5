import { DEFAULT_IDENTITY_HEADERS, type IdentityHeaderNames } from './assertion/headers.js';
import { ANONYMOUS } from '../input/types.js';
import { sessionClearCookie } from './session/cookie.js';
import type { IdentityRuntime } from './runtime.js';

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
    resolve: () => Promise.resolve({ identity: ANONYMOUS, source: 'none' }),
    assertion: () => Promise.resolve(undefined),
    jwks: undefined,
    signIn: undefined,
    clearCookie: () => sessionClearCookie(cookieName),
  };
}

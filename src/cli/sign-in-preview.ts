/**
 * The sign-in redirect as `gatehouse check` shows it. `check` contacts no identity provider, so
 * the IdP's authorization endpoint (known only from its discovery document) is written as a
 * placeholder naming the issuer; everything else — the status, the callback URL this host
 * registers, the scopes, the transaction cookie, the central sign-in host's hand-off — is what
 * the live server sends.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/types.js';
import type { SignInFlow } from '../identity/runtime.js';
import type { RequestView } from '../input/request-view.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { loadSigningKeys } from '../keys/load.js';
import { startHandoff } from '../oidc/handoff.js';
import { DEFAULT_TXN_TTL_SECONDS, TXN_COOKIE_NAME, txnSetCookie } from '../oidc/sign-in.js';
import { PATHS } from '../pages/pages.js';
import { redirectReply } from '../pages/reply.js';

/** The Location's stand-in for the authorization endpoint, e.g. `<authorization_endpoint of https://idp.example.com>`. */
export function authorizationEndpointPlaceholder(issuer: string): string {
  return `<authorization_endpoint of ${issuer}>`;
}

/**
 * A {@link SignInFlow} whose `start` answers as the live server does, without an IdP. The other
 * stages need the IdP (or a real browser's cookies) and are refused with `ERR_OIDC_UNAVAILABLE`.
 */
export function signInPreview(identity: NonNullable<Config['identity']>): SignInFlow {
  const issuer = identity.issuer ?? '';
  const central = identity.sign_in_host?.toLowerCase();
  const notSimulated = (what: string) => () =>
    Promise.reject(
      new GatehouseError('ERR_OIDC_UNAVAILABLE', {
        message: `gatehouse check does not simulate ${what}: it needs the identity provider`,
      }),
    );
  return {
    async start(view: RequestView, returnTo: string) {
      if (central !== undefined && view.host !== central) {
        // The hand-off request is sealed and signed with throwaway keys: its shape is real, its
        // content is not.
        const { location, txnCookie } = await startHandoff({
          centralSignInUrl: `${view.scheme}://${central}${PATHS.signIn}`,
          host: view.host,
          returnTo,
          txnKey: new Uint8Array(randomBytes(32)),
          ring: await loadSigningKeys({ files: [], development: true }),
        });
        return redirectReply(location, [['set-cookie', txnSetCookie(txnCookie)]]);
      }
      const params = new URLSearchParams({
        response_type: 'code',
        client_id: identity.client_id ?? '',
        redirect_uri: `${view.scheme}://${view.host}${PATHS.callback}`,
        scope: identity.scopes.join(' '),
        state: '<fresh>',
        nonce: '<fresh>',
        code_challenge: '<fresh>',
        code_challenge_method: 'S256',
      });
      // The live cookie holds the sealed state, nonce, PKCE verifier and return path.
      const cookie = txnSetCookie({
        name: TXN_COOKIE_NAME,
        value: 'SEALED-SIGN-IN-TRANSACTION',
        maxAge: DEFAULT_TXN_TTL_SECONDS,
      });
      return redirectReply(`${authorizationEndpointPlaceholder(issuer)}?${params.toString()}`, [
        ['set-cookie', cookie],
      ]);
    },
    signIn: notSimulated(PATHS.signIn),
    callback: notSimulated('the sign-in callback'),
    signOut: notSimulated('sign-out'),
    refresh: () => Promise.resolve(undefined),
  };
}

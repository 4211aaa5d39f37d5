import { hkdfSync } from 'node:crypto';
import type { Config } from '../config/types.js';
import { signAssertion } from '../assertion/sign.js';
import { createBearerVerifier, type BearerVerifier } from '../bearer/verify.js';
import { anonymousRuntime } from '../check/anonymous-runtime.js';
import type { IdentityRuntime } from '../check/identity-runtime.js';
import { createSignInFlow } from '../check/sign-in-flow.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { resolveIdentity } from '../identity/resolve.js';
import { loadSigningKeys } from '../keys/load.js';
import { loadSessionSecret } from '../keys/session-secret.js';
import type { Logger } from '../log/logger.js';
import { createOidcClient, type OidcClient } from '../oidc/client.js';
import { TXN_COOKIE_NAME } from '../oidc/sign-in.js';
import { sessionClearCookie } from '../session/cookie.js';
import { verifySession } from '../session/verify.js';

/** The identity runtime and the OIDC client behind it (for readiness and shutdown). */
export interface IdentitySetup {
  readonly runtime: IdentityRuntime;
  readonly oidc: OidcClient | undefined;
}

/**
 * Build the identity runtime from configuration: keys, session secret, OIDC client (discovery
 * starts in the background), bearer verifier (its JWKS comes from discovery).
 *
 * @throws GatehouseError `ERR_KEYS_INVALID` naming the key file or secret, `ERR_CONFIG_INVALID`.
 */
export async function setupIdentity(config: Config, log: Logger): Promise<IdentitySetup> {
  const names = config.headers;
  const cookieName = config.session.cookie_name;
  const identity = config.identity;
  if (identity === undefined || identity.issuer === undefined || identity.client_id === undefined) {
    return { runtime: anonymousRuntime(names, cookieName), oidc: undefined };
  }

  const ring = await loadSigningKeys({ files: config.keys.signing, development: config.development, log: (m) => log.info(m) });
  if (ring.generated) {
    log.warn('DEVELOPMENT MODE: signing key generated at start; sessions and assertions will not survive a restart. Never use this in production.');
  }
  const secret = await loadSessionSecret({
    ...(config.session.secret === undefined ? {} : { value: config.session.secret }),
    development: config.development,
  }).catch((err: unknown) => {
    throw new GatehouseError('ERR_KEYS_INVALID', { message: `session.secret: ${(err as Error).message}`, cause: err });
  });
  if (secret.generated) log.warn('DEVELOPMENT MODE: session secret generated at start; sessions will not survive a restart.');
  // The transaction cookie gets its own key, derived from the same secret for a different use.
  const txnKey = new Uint8Array(hkdfSync('sha256', secret.key, new Uint8Array(0), 'gatehouse sign-in transaction', 32));
  const handoffKey = new Uint8Array(hkdfSync('sha256', secret.key, new Uint8Array(0), 'gatehouse sign-in hand-off', 32));

  const oidc = createOidcClient({
    issuer: new URL(identity.issuer),
    clientId: identity.client_id,
    clientSecret: identity.client_secret ?? '',
    scopes: identity.scopes,
    allowInsecureIssuer: config.development,
  });
  oidc.warmUp();

  let bearer: BearerVerifier | undefined;
  const verifyBearer = identity.bearer.enabled
    ? async (token: string) => {
        if (bearer === undefined) {
          const metadata = oidc.metadataIfReady() ?? (await oidc.metadata());
          if (metadata.jwksUri === undefined) throw new GatehouseError('ERR_JWKS_UNAVAILABLE');
          bearer = createBearerVerifier({
            issuer: metadata.issuer,
            audience: identity.bearer.audiences.length > 0 ? identity.bearer.audiences : [identity.client_id as string],
            jwksUri: new URL(metadata.jwksUri),
            algorithms: identity.bearer.algorithms,
            clockToleranceSeconds: identity.clock_tolerance_seconds,
          });
        }
        return bearer(token);
      }
    : undefined;

  const flow = createSignInFlow({
    client: oidc,
    ring,
    sessionKey: secret.key,
    txnKey,
    cookieName,
    sessionTtlSeconds: config.session.ttl_seconds,
    groupsClaim: identity.groups_claim,
    postLogoutRedirectPath: identity.post_logout_redirect_path,
    ...(identity.sign_in_host === undefined ? {} : { centralHost: identity.sign_in_host }),
    allowedHosts: identity.allowed_hosts,
    handoffKey,
    log: (message, detail) => log.info(detail ?? {}, message),
  });

  const runtime: IdentityRuntime = {
    enabled: true,
    cookieName,
    ownCookies: [cookieName, TXN_COOKIE_NAME],
    headerNames: names,
    resolve: (headers) =>
      resolveIdentity({
        headers,
        cookieName,
        verifySession: (token) => verifySession(ring, secret.key, token, { clockToleranceSeconds: identity.clock_tolerance_seconds }),
        ...(verifyBearer === undefined ? {} : { verifyBearer }),
        groupsClaim: identity.groups_claim,
      }),
    assertion: (who, host) =>
      signAssertion(ring, { issuer: names.assertion_issuer, audience: host, identity: who, ttlSeconds: names.assertion_ttl_seconds }),
    jwks: ring.jwks,
    signIn: flow,
    clearCookie: () => sessionClearCookie(cookieName),
  };
  return { runtime, oidc };
}

/** Sign-out: where to send the browser (RP-initiated logout) and the cross-site guard. */
import * as oidc from 'openid-client';
import { GatehouseError } from '../errors/gatehouse-error.js';
import type { OidcClient } from './client.js';
import { PATHS } from '../pages/pages.js';

/** Where the browser lands when the IdP has no `end_session_endpoint` (Gatehouse's signed-out page). */
export const LOCAL_SIGNED_OUT_PATH = PATHS.signedOut;

/** Options for {@link signOutLocation}. */
export interface SignOutOptions {
  readonly client: OidcClient;
  /** Where the IdP sends the browser afterwards; must pass `allowedPostLogout` (and be registered at the IdP). */
  readonly postLogoutRedirectUri?: string;
  /** Decides whether a post-logout URI is acceptable (e.g. an exact allow-list from config). */
  readonly allowedPostLogout: (url: URL) => boolean;
  /** Optional opaque value the IdP echoes back to the post-logout URI. */
  readonly state?: string;
  /** Default {@link LOCAL_SIGNED_OUT_PATH}. */
  readonly localSignedOutPath?: string;
}

/**
 * The URL to redirect to after the caller cleared the session cookie: the IdP's
 * `end_session_endpoint` with `client_id`, `post_logout_redirect_uri` and `state` when the IdP
 * has one; otherwise the post-logout URI (if given) or the local page. When the IdP is
 * unreachable, sign-out still succeeds locally.
 *
 * Never `id_token_hint`: this URL is a redirect the browser follows, so it lands in history,
 * in the IdP's and every proxy's access logs, and in `Referer`; an ID token there is a
 * credential on display. OIDC RP-Initiated Logout 1.0 §2 lets `client_id` stand in for it (the
 * IdP then checks `post_logout_redirect_uri` against that client's registration); an IdP may
 * ask the user to confirm, which for a sign-out they asked for is fine.
 *
 * @throws GatehouseError `ERR_RETURN_URL_INVALID` when `postLogoutRedirectUri` is not an
 *   absolute http(s) URL or `allowedPostLogout` refuses it.
 * @example
 *   const location = await signOutLocation({ client, idTokenHint, postLogoutRedirectUri,
 *     allowedPostLogout: (u) => config.postLogoutUris.includes(u.href) });
 */
export async function signOutLocation(options: SignOutOptions): Promise<string> {
  let postLogout: URL | undefined;
  if (options.postLogoutRedirectUri !== undefined) {
    if (
      !URL.canParse(options.postLogoutRedirectUri) ||
      /[\x00-\x20\x7F\\]/.test(options.postLogoutRedirectUri)
    )
      throw new GatehouseError('ERR_RETURN_URL_INVALID');
    postLogout = new URL(options.postLogoutRedirectUri);
    if (
      (postLogout.protocol !== 'https:' && postLogout.protocol !== 'http:') ||
      postLogout.username !== '' ||
      postLogout.password !== '' ||
      !options.allowedPostLogout(postLogout)
    ) {
      throw new GatehouseError('ERR_RETURN_URL_INVALID');
    }
  }
  const local = postLogout?.href ?? options.localSignedOutPath ?? LOCAL_SIGNED_OUT_PATH;
  let config: oidc.Configuration;
  try {
    config = await options.client.configuration();
  } catch {
    return local;
  }
  if (config.serverMetadata().end_session_endpoint === undefined) return local;
  const params: Record<string, string> = { client_id: config.clientMetadata().client_id };
  if (postLogout !== undefined) params['post_logout_redirect_uri'] = postLogout.href;
  if (options.state !== undefined) params['state'] = options.state;
  return oidc.buildEndSessionUrl(config, params).href;
}

/** Request headers, names lower-case (as Envoy sends them). */
export type RequestHeaders = Readonly<Record<string, string | undefined>>;

/**
 * True when the request demonstrably comes from `host`'s own pages (or the user typed the URL),
 * for state-changing GETs such as sign-out. Checks, in order: `Sec-Fetch-Site` (`same-origin`
 * or `none` pass; `same-site` and `cross-site` do not), else `Origin`, else `Referer`; with
 * none of them the answer is `false` (fail closed).
 *
 * @example isSameOriginRequest({ 'sec-fetch-site': 'same-origin' }, 'app.example.com') === true
 */
export function isSameOriginRequest(headers: RequestHeaders, host: string): boolean {
  const site = headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin' || site === 'none';
  const origin = headers['origin'];
  if (origin !== undefined) return origin !== 'null' && sameHost(origin, host);
  const referer = headers['referer'];
  if (referer !== undefined) return sameHost(referer, host);
  return false;
}

/**
 * Like {@link isSameOriginRequest}, throwing.
 *
 * @throws GatehouseError `ERR_SIGN_OUT_FORBIDDEN`
 */
export function assertSameOriginRequest(headers: RequestHeaders, host: string): void {
  if (!isSameOriginRequest(headers, host)) throw new GatehouseError('ERR_SIGN_OUT_FORBIDDEN');
}

function sameHost(url: string, host: string): boolean {
  if (!URL.canParse(url)) return false;
  const parsed = new URL(url);
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return false;
  return (
    normalizeHost(parsed.host, parsed.protocol) ===
    normalizeHost(host.toLowerCase(), parsed.protocol)
  );
}

function normalizeHost(host: string, protocol: string): string {
  const lower = host.toLowerCase();
  if (protocol === 'https:' && lower.endsWith(':443')) return lower.slice(0, -4);
  if (protocol === 'http:' && lower.endsWith(':80')) return lower.slice(0, -3);
  return lower;
}

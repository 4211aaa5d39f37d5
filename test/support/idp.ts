/**
 * The demo OIDC provider (demo/idp) for tests, and a browserless user agent that signs in
 * through its real login page: follows redirects by hand, keeps the IdP's cookies, parses and
 * posts the form. Integration tests use it to reach the callback with a real code.
 */
import { randomBytes } from 'node:crypto';
import { startIdp, type RunningIdp } from '../../demo/idp/start.js';
import { createOidcClient, type OidcClient } from '../../src/oidc/client.js';

export const TEST_HOST = 'app.example.test';
export const TEST_REDIRECT_URI = `https://${TEST_HOST}/.gatehouse/callback`;
export const TEST_POST_LOGOUT_URI = `https://${TEST_HOST}/.gatehouse/signed_out`;
export const TEST_BACKCHANNEL_LOGOUT_URI = `https://${TEST_HOST}/.gatehouse/backchannel_logout`;
export const TEST_CLIENT_ID = 'gatehouse-test';
export const TEST_CLIENT_SECRET = 'gatehouse-test-secret-0123456789abcdef';
/** The API (resource indicator) the test IdP issues RFC 9068 access tokens for: Gatehouse's bearer audience. */
export const TEST_API = 'https://api.example.test/';
/** A demo API client at the IdP, allowed only the demo password grant. */
export const TEST_API_CLIENT = {
  client_id: 'api-cli',
  client_secret: 'api-cli-secret-0123456789',
  redirect_uris: [] as string[],
  grant_types: ['password'] as 'password'[],
};

/**
 * A real RFC 9068 access token (`typ: at+jwt`, `aud` = `resource`) for a demo user, from the
 * IdP's demo password grant (see demo/idp/start.ts for why that grant exists only there).
 */
export async function apiAccessToken(
  issuer: string,
  username: string,
  options: { resource?: string; client?: { client_id: string; client_secret: string } } = {},
): Promise<string> {
  const client = options.client ?? TEST_API_CLIENT;
  const response = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'password',
      username,
      password: username,
      resource: options.resource ?? TEST_API,
    }),
  });
  const body = (await response.json()) as Record<string, unknown>;
  if (response.status !== 200 || typeof body['access_token'] !== 'string')
    throw new Error(`token endpoint answered ${response.status}: ${JSON.stringify(body)}`);
  return body['access_token'];
}

/** A running IdP plus an OIDC client registered at it. */
export interface TestIdp {
  readonly idp: RunningIdp;
  /** Client with scopes openid email profile groups offline_access. */
  readonly client: OidcClient;
  /** A fresh 32-byte key for transaction cookies. */
  readonly txnKey: Uint8Array;
  stop(): Promise<void>;
}

/** Start the demo IdP on 127.0.0.1:0 with one confidential client for {@link TEST_REDIRECT_URI}. */
export async function startTestIdp(extraRedirectUris: readonly string[] = []): Promise<TestIdp> {
  const idp = await startIdp({
    clients: [
      {
        client_id: TEST_CLIENT_ID,
        client_secret: TEST_CLIENT_SECRET,
        redirect_uris: [TEST_REDIRECT_URI, ...extraRedirectUris],
        post_logout_redirect_uris: [TEST_POST_LOGOUT_URI],
        backchannel_logout_uri: TEST_BACKCHANNEL_LOGOUT_URI,
      },
      TEST_API_CLIENT,
    ],
    api: { resource: TEST_API },
  });
  const client = createOidcClient({
    issuer: idp.url,
    clientId: TEST_CLIENT_ID,
    clientSecret: TEST_CLIENT_SECRET,
    scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
    allowInsecureIssuer: true,
    timeoutMs: 5000,
  });
  return {
    idp,
    client,
    txnKey: new Uint8Array(randomBytes(32)),
    stop: async () => {
      client.close();
      await idp.stop();
    },
  };
}

/** A minimal cookie jar: name → value, ignoring paths (everything here is one loopback origin). */
class CookieJar {
  readonly #cookies = new Map<string, string>();

  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => {
        const [k = '', v = ''] = a.trim().split('=');
        if (k.toLowerCase() === 'max-age') return Number(v) <= 0;
        if (k.toLowerCase() === 'expires') return Date.parse(v) <= Date.now();
        return false;
      });
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** Options for {@link browseToCallback}. */
export interface BrowseOptions {
  /** The authorization URL from `startSignIn`. */
  readonly authorizationUrl: string;
  /** Stop at the first redirect to a URL starting with this. */
  readonly redirectUri: string;
  readonly username: string;
  readonly password: string;
  /** Reuse a jar to keep the IdP session (SSO) between sign-ins. */
  readonly jar?: CookieJar;
}

/** A user agent session at the IdP. */
export function newJar(): CookieJar {
  return new CookieJar();
}

/**
 * Walk the sign-in like a browser would, without one: GET the authorization URL, follow
 * redirects to the login page, POST the credentials to the form's action, follow redirects
 * until the IdP sends the browser to `redirectUri`; return that callback URL.
 *
 * @throws Error when the IdP answers something unexpected (the error names the step).
 */
export async function browseToCallback(options: BrowseOptions): Promise<URL> {
  const jar = options.jar ?? new CookieJar();
  let url = new URL(options.authorizationUrl);
  let method = 'GET';
  let body: URLSearchParams | undefined;
  let posted = false;
  for (let hop = 0; hop < 20; hop++) {
    if (url.href.startsWith(options.redirectUri)) return url;
    const response = await fetch(url, {
      method,
      redirect: 'manual',
      headers: {
        cookie: jar.header(),
        accept: 'text/html',
        ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
      },
      ...(body === undefined ? {} : { body }),
    });
    jar.store(response);
    method = 'GET';
    body = undefined;
    if (response.status >= 300 && response.status < 400) {
      const location = response.headers.get('location');
      if (location === null) throw new Error(`redirect without location from ${url.href}`);
      await response.arrayBuffer();
      url = new URL(location, url);
      continue;
    }
    const html = await response.text();
    if (response.status !== 200)
      throw new Error(`IdP answered ${response.status} at ${url.pathname}: ${html.slice(0, 500)}`);
    if (posted)
      throw new Error(`login form shown again after posting credentials (wrong password?)`);
    const action = /<form[^>]*\baction="([^"]+)"/i.exec(html)?.[1];
    if (action === undefined) throw new Error(`no form on ${url.pathname}`);
    if (!/<label for="username">/.test(html) || !/<label for="password">/.test(html))
      throw new Error('login form lacks labels');
    url = new URL(action.replace(/&amp;/g, '&'), url);
    method = 'POST';
    body = new URLSearchParams({ username: options.username, password: options.password });
    posted = true;
  }
  throw new Error('too many redirects');
}

/** The login page's HTML for an authorization URL (to inspect the form). */
export async function fetchLoginPage(
  authorizationUrl: string,
): Promise<{ status: number; html: string; headers: Headers }> {
  const jar = new CookieJar();
  let url = new URL(authorizationUrl);
  for (let hop = 0; hop < 5; hop++) {
    const response = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
    jar.store(response);
    const location = response.headers.get('location');
    if (location === null)
      return { status: response.status, html: await response.text(), headers: response.headers };
    await response.arrayBuffer();
    url = new URL(location, url);
  }
  throw new Error('too many redirects');
}

/**
 * A real OpenID Connect provider (oidc-provider from npm) on loopback HTTP, for the tests and
 * the demo. Its sign-in page is a small HTML form served by interaction routes in a plain
 * `node:http` server that wraps `provider.callback()`.
 *
 * What it turns on, and why:
 * - PKCE is required for every client (S256 is the only method oidc-provider 9 accepts);
 * - `authorization_response_iss_parameter_supported` (RFC 9207): oidc-provider always
 *   advertises it and adds `iss` to every authorization response;
 * - RP-initiated logout with an auto-confirmed logout page;
 * - refresh tokens for `offline_access`. Like Okta and Keycloak (and unlike oidc-provider's
 *   default, which follows OIDC Core §11 to the letter), the demo IdP treats its registered
 *   clients as first-party: a request for `offline_access` needs no explicit `prompt=consent`
 *   (the IdP adds it itself) and consent is granted automatically;
 * - `email`, `email_verified`, `name` and the custom `groups` claim in the ID token;
 * - with `api`: RFC 8707 resource indicators for that one API, whose access tokens are RFC 9068
 *   JWTs (`typ: at+jwt`, `aud` = the API, with the user's `email`, `name` and `groups`); and, for
 *   clients registered with the `password` grant, a DEMO-ONLY password grant that issues such a
 *   token for a demo user in one request. RFC 9700 forbids the password grant for real
 *   deployments (the client sees the user's password); it exists here so a script on the
 *   loopback demo can try a bearer token with one command. A real API client uses the
 *   authorization code flow (users), the device flow or client credentials (machines).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors, type KoaContextLike, type TokenContextLike } from 'oidc-provider';
import { errorPage, loginPage, logoutPage, signedOutPage } from './pages.js';
import { DEFAULT_USERS, type DemoUser } from './users.js';

/** A client registered at the demo IdP (OAuth 2.0 dynamic-registration names). */
export interface IdpClient {
  readonly client_id: string;
  readonly client_secret: string;
  readonly redirect_uris: readonly string[];
  readonly post_logout_redirect_uris?: readonly string[];
  /**
   * OIDC Back-Channel Logout 1.0: where the IdP POSTs a logout token when the user's session
   * ends here (Gatehouse: `https://<host>/.gatehouse/backchannel_logout`). Registered with
   * `backchannel_logout_session_required: true`, so the token carries the session's `sid`.
   */
  readonly backchannel_logout_uri?: string;
  /** Every ID token carries `auth_time`, asked for or not (OIDC Registration `require_auth_time`). */
  readonly require_auth_time?: boolean;
  /** Default `client_secret_basic`, the OIDC default (and Gatehouse's). */
  readonly token_endpoint_auth_method?: 'client_secret_basic' | 'client_secret_post';
  /**
   * Default `['authorization_code', 'refresh_token']`. `['password']` registers a demo API
   * client that may only use the demo password grant (needs `api`; no redirect URIs).
   */
  readonly grant_types?: readonly ('authorization_code' | 'refresh_token' | 'password')[];
}

/** The one API (resource server) the demo IdP issues JWT access tokens for. */
export interface IdpApi {
  /** Its resource indicator (RFC 8707), an absolute URI: the `aud` of its access tokens. */
  readonly resource: string;
  /** The scope its tokens carry. Default `api`. */
  readonly scope?: string;
}

/** Options for {@link startIdp}. */
export interface StartIdpOptions {
  /** TCP port; 0 (the default) lets the kernel pick a free one. */
  readonly port?: number;
  /** Loopback address to bind and to name in the issuer. Default `127.0.0.1`. */
  readonly issuerHost?: string;
  readonly clients: readonly IdpClient[];
  /** Default {@link DEFAULT_USERS} (alice, bob). */
  readonly users?: readonly DemoUser[];
  /** An API whose access tokens are RFC 9068 JWTs (`typ: at+jwt`); see the module comment. */
  readonly api?: IdpApi;
  /**
   * The port named in the issuer when something else (a test's delaying proxy) listens there and
   * forwards to this IdP; default: the port it listens on.
   */
  readonly issuerPort?: number;
  /** Authentication context classes the IdP offers (`acr_values_supported`); none by default. */
  readonly acrValues?: readonly string[];
  /**
   * What a login records, for tests: its `acr`, `amr` and time (`ts`, NumericDate). Default: the
   * first requested `acr_values` the IdP offers (as if it had performed it), `amr` `["pwd"]`, now.
   */
  readonly authenticate?: (request: LoginRequest) => LoginOutcome;
  /** Token lifetimes in seconds (defaults: ID/access token 3600, refresh token 1 day). */
  readonly ttl?: {
    readonly idToken?: number;
    readonly accessToken?: number;
    readonly refreshToken?: number;
  };
}

/** A login being completed, as {@link StartIdpOptions.authenticate} sees it. */
export interface LoginRequest {
  readonly username: string;
  /** The request's `acr_values`, split (empty when none). */
  readonly acrValues: readonly string[];
  /** The request's `max_age`, when it had one. */
  readonly maxAge: number | undefined;
}

/** What a login records. */
export interface LoginOutcome {
  readonly acr?: string;
  readonly amr?: readonly string[];
  /** When the user authenticated (NumericDate); default now. */
  readonly ts?: number;
}

/** A running demo IdP. */
export interface RunningIdp {
  /** The issuer identifier, e.g. `http://127.0.0.1:9000` (no trailing slash). */
  readonly issuer: string;
  /** The issuer as a URL, for `createOidcClient`. */
  readonly url: URL;
  readonly users: readonly DemoUser[];
  /**
   * Tests and the demo only: change the accounts as the IdP's administrator would. `remove`
   * deletes an account: its sign-in, refresh tokens and access tokens stop working (the login
   * form, the token and UserInfo endpoints no longer find it), as when a real IdP disables a
   * user. `update` changes its claims (e.g. `groups`) for the next token or UserInfo answer.
   */
  readonly accounts: {
    remove(username: string): void;
    update(username: string, changes: Partial<Pick<DemoUser, 'email' | 'name' | 'groups'>>): void;
  };
  /** Close the listener and every open connection. */
  stop(): Promise<void>;
}

const SCOPE_CLAIMS = {
  openid: ['sub'],
  email: ['email', 'email_verified'],
  profile: ['name'],
  groups: ['groups'],
};
const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]{1,64})(\/login|\/abort)?$/;
const MAX_FORM_BYTES = 8 * 1024;

/**
 * Start the demo OIDC provider.
 *
 * @example
 *   const idp = await startIdp({ clients: [{ client_id: 'gatehouse', client_secret: 's3cret',
 *     redirect_uris: ['https://app.example.test/.gatehouse/callback'] }] });
 *   // … discovery at `${idp.issuer}/.well-known/openid-configuration`
 *   await idp.stop();
 */
export async function startIdp(options: StartIdpOptions): Promise<RunningIdp> {
  const host = options.issuerHost ?? '127.0.0.1';
  const users = options.users ?? DEFAULT_USERS;
  // The live account store: what `accounts` changes, every endpoint reads.
  const byName = new Map(users.map((u) => [u.username, u]));
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: options.port ?? 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${host.includes(':') ? `[${host}]` : host}:${options.issuerPort ?? port}`;
  const provider = await createProvider(issuer, options, byName);
  const callback = provider.callback();
  const offered = options.acrValues ?? [];
  const authenticate =
    options.authenticate ??
    ((login: LoginRequest): LoginOutcome => {
      const acr = login.acrValues.find((a) => offered.includes(a));
      return { ...(acr === undefined ? {} : { acr }), amr: ['pwd'] };
    });

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const match = INTERACTION_PATH.exec(path);
    if (match === null) {
      callback(req, res);
      return;
    }
    handleInteraction(provider, byName, req, res, match[2], authenticate).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // An unknown or expired interaction is the visitor's problem, not a crash.
      const name = err instanceof Error ? err.name : 'Error';
      sendHtml(
        res,
        400,
        errorPage({
          error: name === 'SessionNotFound' ? 'session_not_found' : 'interaction_failed',
        }),
      );
    });
  });

  return {
    issuer,
    url: new URL(issuer),
    users,
    accounts: {
      remove: (username) => {
        byName.delete(username);
      },
      update: (username, changes) => {
        const user = byName.get(username);
        if (user === undefined) throw new Error(`no account ${username}`);
        byName.set(username, Object.freeze({ ...user, ...changes }));
      },
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function createProvider(
  issuer: string,
  options: StartIdpOptions,
  byName: ReadonlyMap<string, DemoUser>,
): Promise<Provider> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = {
    ...(await exportJWK(privateKey)),
    alg: 'RS256',
    use: 'sig',
    kid: `demo-${randomBytes(6).toString('hex')}`,
  };
  const api =
    options.api === undefined
      ? undefined
      : {
          resource: options.api.resource,
          scope: options.api.scope ?? 'api',
          ttl: options.ttl?.accessToken ?? 3600,
        };
  if (
    api === undefined &&
    options.clients.some((c) => c.grant_types?.includes('password') === true)
  )
    throw new Error('startIdp: a password-grant client needs `api`');

  const provider = new Provider(issuer, {
    clients: options.clients.map((c) => {
      const grantTypes = c.grant_types ?? ['authorization_code', 'refresh_token'];
      const codeFlow = grantTypes.includes('authorization_code');
      return {
        client_id: c.client_id,
        client_secret: c.client_secret,
        redirect_uris: [...c.redirect_uris],
        post_logout_redirect_uris: [...(c.post_logout_redirect_uris ?? [])],
        grant_types: [...grantTypes],
        response_types: codeFlow ? ['code'] : [],
        token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
        ...(c.backchannel_logout_uri === undefined
          ? {}
          : {
              backchannel_logout_uri: c.backchannel_logout_uri,
              backchannel_logout_session_required: true,
            }),
        ...(c.require_auth_time === true ? { require_auth_time: true } : {}),
      };
    }),
    jwks: { keys: [jwk] },
    cookies: {
      keys: [randomBytes(32).toString('base64url')],
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
    claims: SCOPE_CLAIMS,
    // Put the scope claims in the ID token itself (Gatehouse reads identity from it).
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    ...(options.acrValues === undefined ? {} : { acrValues: [...options.acrValues] }),
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      backchannelLogout: { enabled: true },
      ...(api === undefined ? {} : { resourceIndicators: resourceIndicators(api) }),
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx: KoaContextLike, form: string) => {
          ctx.type = 'html';
          ctx.body = logoutPage(form);
        },
        postLogoutSuccessSource: (ctx: KoaContextLike) => {
          ctx.type = 'html';
          ctx.body = signedOutPage();
        },
      },
    },
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
    findAccount: (_ctx: unknown, sub: string) => {
      const user = byName.get(sub);
      if (user === undefined) return undefined;
      return {
        accountId: sub,
        claims: () => ({
          sub,
          email: user.email,
          email_verified: user.emailVerified,
          name: user.name,
          groups: [...user.groups],
        }),
      };
    },
    // The API's access tokens say who the user is, as the ID token does.
    extraTokenClaims: (_ctx: unknown, token: { accountId?: string; resourceServer?: unknown }) => {
      const user =
        token.resourceServer === undefined || token.accountId === undefined
          ? undefined
          : byName.get(token.accountId);
      return user === undefined
        ? undefined
        : {
            email: user.email,
            email_verified: user.emailVerified,
            name: user.name,
            groups: [...user.groups],
          };
    },
    renderError: (ctx: KoaContextLike, out: Record<string, unknown>) => {
      ctx.type = 'html';
      ctx.body = errorPage(out);
    },
    clientBasedCORS: () => false,
    // The demo and the tests run every party on loopback: without this, oidc-provider's SSRF
    // guard (a dispatcher refusing special-use addresses) stops its back-channel logout POST to
    // Gatehouse at 127.0.0.1. A real IdP keeps the guard and reaches Gatehouse's public origin.
    fetch: (url: string | URL, options: RequestInit & { dispatcher?: unknown }) => {
      const { dispatcher: _ssrfGuard, ...rest } = options;
      return fetch(url, rest);
    },
    ttl: {
      AccessToken: options.ttl?.accessToken ?? 3600,
      AuthorizationCode: 60,
      IdToken: options.ttl?.idToken ?? 3600,
      RefreshToken: options.ttl?.refreshToken ?? 86_400,
      Interaction: 600,
      Session: 86_400,
      Grant: 86_400,
    },
  });

  if (api !== undefined) registerDemoPasswordGrant(provider, api, byName);

  // First-party clients get offline_access without an explicit prompt=consent (see the header).
  provider.use(async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === '/auth') {
      const scope = ctx.query['scope'];
      const prompt = ctx.query['prompt'];
      const prompts = typeof prompt === 'string' ? prompt.split(' ') : [];
      if (
        typeof scope === 'string' &&
        scope.split(' ').includes('offline_access') &&
        !prompts.includes('consent') &&
        !prompts.includes('none') &&
        (prompt === undefined || typeof prompt === 'string')
      ) {
        ctx.query = { ...ctx.query, prompt: [...prompts, 'consent'].join(' ') };
      }
    }
    await next();
  });
  return provider;
}

interface ApiSettings {
  readonly resource: string;
  readonly scope: string;
  readonly ttl: number;
}

/** The resource server description oidc-provider needs: JWT (RFC 9068) access tokens, RS256. */
function resourceServerInfo(api: ApiSettings): Record<string, unknown> {
  return {
    scope: api.scope,
    audience: api.resource,
    accessTokenFormat: 'jwt',
    accessTokenTTL: api.ttl,
    jwt: { sign: { alg: 'RS256' } },
  };
}

/** RFC 8707 resource indicators for exactly one API; no default resource (sign-in tokens stay opaque, for userinfo). */
function resourceIndicators(api: ApiSettings): Record<string, unknown> {
  return {
    enabled: true,
    defaultResource: () => undefined,
    useGrantedResource: () => false,
    getResourceServerInfo: (_ctx: unknown, resource: string) => {
      if (resource !== api.resource) throw new errors.InvalidTarget();
      return resourceServerInfo(api);
    },
  };
}

/**
 * DEMO ONLY: `grant_type=password` for clients registered with it (see the module comment for
 * why it exists and why nothing real should). It issues one RFC 9068 access token for the API to
 * a demo user whose password matches; no ID token, no refresh token.
 */
function registerDemoPasswordGrant(
  provider: Provider,
  api: ApiSettings,
  byName: ReadonlyMap<string, DemoUser>,
): void {
  provider.registerGrantType(
    'password',
    async (ctx: TokenContextLike) => {
      const params = ctx.oidc.params;
      const client = ctx.oidc.client;
      if (client === undefined) throw new errors.UnauthorizedClient();
      const resource = params['resource'];
      if (resource !== undefined && resource !== api.resource) throw new errors.InvalidTarget();
      const username = typeof params['username'] === 'string' ? params['username'] : '';
      const password = typeof params['password'] === 'string' ? params['password'] : '';
      const user = byName.get(username);
      if (user === undefined || !samePassword(password, user.password))
        throw new errors.InvalidGrant('wrong username or password');
      const grant = new provider.Grant({ accountId: user.username, clientId: client.clientId });
      grant.addResourceScope(api.resource, api.scope);
      const grantId = await grant.save();
      const token = new provider.AccessToken({
        accountId: user.username,
        client,
        grantId,
        gty: 'password',
        scope: api.scope,
      });
      token.resourceServer = new provider.ResourceServer(api.resource, resourceServerInfo(api));
      const accessToken = await token.save();
      ctx.body = {
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: token.expiration,
        scope: api.scope,
      };
    },
    ['username', 'password', 'scope', 'resource'],
  );
}

async function handleInteraction(
  provider: Provider,
  byName: ReadonlyMap<string, DemoUser>,
  req: IncomingMessage,
  res: ServerResponse,
  action: string | undefined,
  authenticate: (request: LoginRequest) => LoginOutcome,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  const clientId = details.params.client_id;

  if (action === '/abort' && req.method === 'GET') {
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'The user cancelled the sign-in.' },
      { mergeWithLastSubmission: false },
    );
    return;
  }

  if (action === '/login' && req.method === 'POST') {
    const form = new URLSearchParams(await readBody(req));
    const username = form.get('username') ?? '';
    const user = byName.get(username);
    if (user === undefined || !samePassword(form.get('password') ?? '', user.password)) {
      sendHtml(
        res,
        401,
        loginPage({ uid: details.uid, clientId, username, error: 'Wrong username or password.' }),
      );
      return;
    }
    const acrValues = details.params['acr_values'];
    const maxAge = details.params['max_age'];
    const outcome = authenticate({
      username: user.username,
      acrValues: typeof acrValues === 'string' ? acrValues.split(' ').filter((a) => a !== '') : [],
      maxAge: maxAge === undefined ? undefined : Number(maxAge),
    });
    await provider.interactionFinished(
      req,
      res,
      {
        login: {
          accountId: user.username,
          ...(outcome.acr === undefined ? {} : { acr: outcome.acr }),
          ...(outcome.amr === undefined ? {} : { amr: [...outcome.amr] }),
          ...(outcome.ts === undefined ? {} : { ts: outcome.ts }),
        },
      },
      { mergeWithLastSubmission: false },
    );
    return;
  }

  if (action !== undefined || req.method !== 'GET') {
    sendHtml(res, 405, errorPage({ error: 'method_not_allowed' }));
    return;
  }

  if (details.prompt.name === 'login') {
    sendHtml(res, 200, loginPage({ uid: details.uid, clientId }));
    return;
  }

  if (details.prompt.name === 'consent') {
    // Consent is automatic for the demo's first-party clients: grant exactly what is missing.
    const accountId = details.session?.accountId;
    if (accountId === undefined) throw new Error('consent without a login session');
    const existing =
      details.grantId === undefined ? undefined : await provider.Grant.find(details.grantId);
    const grant = existing ?? new provider.Grant({ accountId, clientId });
    const missing = details.prompt.details;
    if (missing.missingOIDCScope !== undefined)
      grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims !== undefined) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
      grant.addResourceScope(resource, scopes.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { consent: existing === undefined ? { grantId } : {} },
      { mergeWithLastSubmission: true },
    );
    return;
  }

  sendHtml(res, 400, errorPage({ error: 'unsupported_prompt', prompt: details.prompt.name }));
}

function samePassword(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readBody(req: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_FORM_BYTES) throw new Error('form too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
    'content-security-policy':
      "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    'referrer-policy': 'no-referrer',
  });
  res.end(html);
}

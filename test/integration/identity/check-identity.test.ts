/**
 * Identity through the Check path: a real gRPC client over a real socket against an in-process
 * Gatehouse whose identity is configured against the real demo IdP (oidc-provider on loopback).
 * Sign-ins are driven without a browser (test/support/idp.ts follows the IdP's redirects and
 * posts its login form); some sessions are minted in the running Gatehouse's session store
 * (`gatehouse.sessions.issue`), as its sign-in would, so the test controls their content.
 *
 * Assertions are on statuses, header names/values and stable error codes, never on messages.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportPKCS8,
  generateKeyPair,
  jwtVerify,
  type JSONWebKeySet,
} from 'jose';
import { startIdp, type RunningIdp } from '../../../demo/idp/start.js';
import type { HeaderValueOption } from '../../../src/gen/envoy/config/core/v3/base_pb.js';
import type {
  CheckResponse,
  DeniedHttpResponse,
  OkHttpResponse,
} from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { loadSigningKeys } from '../../../src/keys/load.js';
import { loadSessionSecret } from '../../../src/keys/session-secret.js';
import type { KeyRing } from '../../../src/keys/key-ring.js';
import { completeSignIn } from '../../../src/oidc/callback.js';
import { createOidcClient, type OidcClient } from '../../../src/oidc/client.js';
import { createReplayCache } from '../../../src/oidc/replay-cache.js';
import { startSignIn } from '../../../src/oidc/sign-in.js';
import type { Gatehouse } from '../../../src/server/start.js';
import type { SessionInput } from '../../../src/identity/session/types.js';
import { startTestGatehouse } from '../../support/gatehouse.js';
import { startRedis } from '../../support/redis.js';
import { memorySessions } from '../../support/sessions.js';
import { connect, httpRequest, type TestClient } from '../../support/grpc-client.js';
import { apiAccessToken, browseToCallback, TEST_API, TEST_API_CLIENT } from '../../support/idp.js';
import { testdata } from '../../support/paths.js';
import { requireTool } from '../../support/tools.js';

const HOST = 'app.example.test';
const ORIGIN = `https://${HOST}`;
const REDIRECT_URI = `${ORIGIN}/.gatehouse/callback`;
const POST_LOGOUT_URI = `${ORIGIN}/.gatehouse/signed_out`;
const CLIENT_ID = 'gatehouse';
const CLIENT_SECRET = 'gatehouse-identity-test-secret-0123456789';
const SCOPES = ['openid', 'email', 'profile', 'groups', 'offline_access'];
const SESSION_COOKIE = '__Host-gatehouse';
const TXN_COOKIE = '__Host-gatehouse-txn';

/** What Chromium sends for a top-level navigation. */
const NAV = {
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-site': 'none',
  'sec-fetch-dest': 'document',
} as const;
const JSON_ACCEPT = { accept: 'application/json' } as const;

// ---------------------------------------------------------------------------------------------
// CheckResponse helpers

function denied(res: CheckResponse): DeniedHttpResponse {
  assert.equal(
    res.httpResponse.case,
    'deniedResponse',
    `expected a denied/local response, got ${res.httpResponse.case}`,
  );
  return res.httpResponse.value as DeniedHttpResponse;
}

function allowed(res: CheckResponse): OkHttpResponse {
  assert.equal(
    res.httpResponse.case,
    'okResponse',
    `expected an allow, got ${res.httpResponse.case} ${describe(res)}`,
  );
  return res.httpResponse.value as OkHttpResponse;
}

function describe(res: CheckResponse): string {
  if (res.httpResponse.case !== 'deniedResponse') return '';
  const d = res.httpResponse.value;
  return `(status ${d.status?.code}, headers ${JSON.stringify(pairs(d.headers))}, body ${d.body.slice(0, 300)})`;
}

function statusOf(res: CheckResponse): number {
  return denied(res).status?.code ?? 0;
}

function pairs(options: readonly HeaderValueOption[]): [string, string][] {
  return options.map((o) => [(o.header?.key ?? '').toLowerCase(), o.header?.value ?? '']);
}

function values(options: readonly HeaderValueOption[], name: string): string[] {
  return pairs(options)
    .filter(([k]) => k === name)
    .map(([, v]) => v);
}

function one(options: readonly HeaderValueOption[], name: string): string | undefined {
  return values(options, name)[0];
}

interface SetCookie {
  readonly name: string;
  readonly value: string;
  /** Attribute names lowercased → value ('' for flags). */
  readonly attrs: ReadonlyMap<string, string>;
}

function parseSetCookie(line: string): SetCookie {
  const [pair = '', ...rest] = line.split(';');
  const eq = pair.indexOf('=');
  const attrs = new Map<string, string>();
  for (const a of rest) {
    const [k = '', ...v] = a.trim().split('=');
    attrs.set(k.toLowerCase(), v.join('='));
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attrs };
}

function setCookies(options: readonly HeaderValueOption[]): SetCookie[] {
  return values(options, 'set-cookie').map(parseSetCookie);
}

function cookieNamed(options: readonly HeaderValueOption[], name: string): SetCookie | undefined {
  return setCookies(options).find((c) => c.name === name);
}

/** Secure; HttpOnly; SameSite=Lax; Path=/; no Domain. */
function assertHostCookieAttributes(c: SetCookie): void {
  assert.ok(c.attrs.has('secure'), `${c.name}: Secure`);
  assert.ok(c.attrs.has('httponly'), `${c.name}: HttpOnly`);
  assert.equal(c.attrs.get('samesite')?.toLowerCase(), 'lax', `${c.name}: SameSite=Lax`);
  assert.equal(c.attrs.get('path'), '/', `${c.name}: Path=/`);
  assert.equal(c.attrs.has('domain'), false, `${c.name}: no Domain`);
}

function assertSessionCleared(options: readonly HeaderValueOption[]): void {
  const c = cookieNamed(options, SESSION_COOKIE);
  assert.ok(c, `the session cookie is cleared: ${JSON.stringify(values(options, 'set-cookie'))}`);
  assert.equal(c.value, '');
  assert.equal(c.attrs.get('max-age'), '0');
  assertHostCookieAttributes(c);
}

function bodyJson(res: CheckResponse): Record<string, unknown> {
  return JSON.parse(denied(res).body) as Record<string, unknown>;
}

function req(path: string, headers: Record<string, string> = {}, method = 'GET') {
  return httpRequest({ method, path, host: HOST, headers });
}

// ---------------------------------------------------------------------------------------------
// Fixture: IdP, key file, secret file, Gatehouse

interface Fixture {
  readonly idp: RunningIdp;
  readonly dir: string;
  readonly keyFile: string;
  readonly secretFile: string;
  readonly policyDir: string;
  readonly opa: string;
  readonly ring: KeyRing;
  readonly sessionKey: Uint8Array;
  /** A client of our own at the IdP (same client id), to get raw tokens. */
  readonly oidc: OidcClient;
}

async function writeKeyFile(dir: string, name: string): Promise<string> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const file = join(dir, name);
  writeFileSync(file, await exportPKCS8(privateKey), { mode: 0o600 });
  return file;
}

async function setup(t: TestContext, opa: string): Promise<Fixture> {
  const idp = await startIdp({
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [REDIRECT_URI],
        post_logout_redirect_uris: [POST_LOGOUT_URI],
      },
      TEST_API_CLIENT,
    ],
    api: { resource: TEST_API },
  });
  t.after(() => idp.stop());
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-identity-'));
  const keyFile = await writeKeyFile(dir, 'signing.pem');
  const secretFile = join(dir, 'session-secret');
  writeFileSync(secretFile, randomBytes(32).toString('base64url'), { mode: 0o600 });
  const policyFolder = mkdtempSync(join(dir, 'policy-'));
  copyFileSync(testdata('identity', 'authz.rego'), join(policyFolder, 'authz.rego'));
  const ring = await loadSigningKeys({ files: [keyFile], development: false });
  const { key: sessionKey } = await loadSessionSecret({ file: secretFile, development: false });
  const oidc = createOidcClient({
    issuer: idp.url,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    scopes: SCOPES,
    allowInsecureIssuer: true,
    timeoutMs: 5000,
  });
  t.after(() => oidc.close());
  return { idp, dir, keyFile, secretFile, policyDir: policyFolder, opa, ring, sessionKey, oidc };
}

function identityConfig(f: Fixture, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    // Development mode only for the http:// issuer on loopback; keys and secret come from files.
    development: true,
    keys: { signing: [f.keyFile] },
    session: { secret: { file: f.secretFile } },
    identity: {
      issuer: f.idp.issuer,
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      scopes: SCOPES,
      // The API's own audience: the IdP's RFC 9068 access tokens for it are bearer tokens; its
      // ID tokens for Gatehouse never are.
      bearer: { audiences: [TEST_API] },
      ...extra,
    },
  };
}

async function startGatehouse(
  t: TestContext,
  f: Fixture,
): Promise<{ gatehouse: Gatehouse; client: TestClient }> {
  const { gatehouse } = await startTestGatehouse(
    { dir: f.policyDir, opa: f.opa, watch: false },
    identityConfig(f),
  );
  const client = connect(gatehouse.grpcPort);
  t.after(async () => {
    client.close();
    await gatehouse.stop();
  });
  return { gatehouse, client };
}

/** Real tokens straight from the IdP (our own client, same client id), signed in without a browser. */
async function idpTokens(
  f: Fixture,
  username = 'alice',
): Promise<{ idToken: string; refreshToken: string | undefined }> {
  const txnKey = new Uint8Array(randomBytes(32));
  const { location, txnCookie } = await startSignIn({
    client: f.oidc,
    redirectUri: REDIRECT_URI,
    returnTo: '/',
    txnKey,
  });
  const callback = await browseToCallback({
    authorizationUrl: location,
    redirectUri: REDIRECT_URI,
    username,
    password: username,
  });
  const result = await completeSignIn({
    client: f.oidc,
    currentUrl: callback,
    txnCookieValue: txnCookie.value,
    txnKey,
    redirectUri: REDIRECT_URI,
    replayCache: createReplayCache(),
  });
  return { idToken: result.tokens.id_token, refreshToken: result.tokens.refresh_token };
}

interface SignedIn {
  /** The `/.gatehouse/sign_in` reply (302 to the IdP + txn cookie). */
  readonly start: DeniedHttpResponse;
  /** The callback reply (302 + session cookie, or an error page). */
  readonly callback: DeniedHttpResponse;
  /** The session cookie's value, when the callback set one. */
  readonly session: string | undefined;
  readonly sessionSetCookie: SetCookie | undefined;
}

/** Sign in through Gatehouse's own reserved paths, driving the IdP without a browser. */
async function signInThroughCheck(
  client: TestClient,
  path = '/.gatehouse/sign_in',
  username = 'alice',
): Promise<SignedIn> {
  const start = denied(await client.check(req(path, NAV)));
  assert.equal(start.status?.code, 302);
  const location = one(start.headers, 'location');
  assert.ok(location, 'sign-in redirects');
  const txn = cookieNamed(start.headers, TXN_COOKIE);
  assert.ok(txn, 'transaction cookie set');
  const cb = await browseToCallback({
    authorizationUrl: location,
    redirectUri: REDIRECT_URI,
    username,
    password: username,
  });
  const callback = denied(
    await client.check(
      req(`${cb.pathname}${cb.search}`, {
        ...NAV,
        'sec-fetch-site': 'cross-site',
        cookie: `${TXN_COOKIE}=${txn.value}`,
      }),
    ),
  );
  const sessionSetCookie = cookieNamed(callback.headers, SESSION_COOKIE);
  return { start, callback, session: sessionSetCookie?.value || undefined, sessionSetCookie };
}

function aliceSession(extra: Partial<SessionInput> = {}): SessionInput {
  return {
    sub: 'alice',
    email: 'alice@example.com',
    email_verified: true,
    name: 'Alice',
    groups: ['admins', 'staff'],
    idp_iss: 'http://127.0.0.1',
    claims: {},
    host: HOST,
    ...extra,
  };
}

// ---------------------------------------------------------------------------------------------

test('identity through the Check path against the real demo IdP', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const f = await setup(t, opa);
  const { client, gatehouse } = await startGatehouse(t, f);
  const mint = (input: SessionInput, now?: number) => mintSession(gatehouse, input, now);

  await t.test(
    'anonymous browser navigation to a denied path: 302 to the IdP with PKCE S256, state, nonce and a __Host- txn cookie',
    async () => {
      const res = await client.check(req('/app/x?y=1', NAV));
      assert.equal(statusOf(res), 302);
      const d = denied(res);
      const location = new URL(one(d.headers, 'location') ?? '');
      assert.equal(`${location.origin}${location.pathname}`, `${f.idp.issuer}/auth`);
      assert.equal(location.searchParams.get('code_challenge_method'), 'S256');
      assert.match(location.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
      assert.match(location.searchParams.get('state') ?? '', /^[A-Za-z0-9_-]{20,}$/);
      assert.match(location.searchParams.get('nonce') ?? '', /^[A-Za-z0-9_-]{20,}$/);
      assert.equal(location.searchParams.get('redirect_uri'), REDIRECT_URI);
      assert.equal(location.searchParams.get('client_id'), CLIENT_ID);
      const txn = cookieNamed(d.headers, TXN_COOKIE);
      assert.ok(txn, 'txn cookie set');
      assert.notEqual(txn.value, '');
      assertHostCookieAttributes(txn);
      assert.ok(Number(txn.attrs.get('max-age')) > 0);
    },
  );

  await t.test(
    'anonymous XHR, fetch, POST and CORS preflight: 401 with WWW-Authenticate: Bearer, never a redirect',
    async () => {
      const cases: [string, string, Record<string, string>][] = [
        ['accept json', 'GET', { ...JSON_ACCEPT }],
        ['sec-fetch-mode cors', 'GET', { ...NAV, 'sec-fetch-mode': 'cors' }],
        ['x-requested-with', 'GET', { accept: 'text/html', 'x-requested-with': 'XMLHttpRequest' }],
        ['POST form', 'POST', { ...NAV, 'content-type': 'application/x-www-form-urlencoded' }],
        [
          'OPTIONS preflight',
          'OPTIONS',
          {
            origin: 'https://other.example',
            'access-control-request-method': 'POST',
            'sec-fetch-mode': 'cors',
            accept: '*/*',
          },
        ],
      ];
      for (const [name, method, headers] of cases) {
        const res = await client.check(req('/app/x', headers, method));
        const d = denied(res);
        assert.equal(d.status?.code, 401, name);
        assert.match(one(d.headers, 'www-authenticate') ?? '', /^Bearer\b/, name);
        assert.equal(one(d.headers, 'location'), undefined, `${name}: no redirect`);
        assert.equal(
          cookieNamed(d.headers, TXN_COOKIE),
          undefined,
          `${name}: no sign-in transaction`,
        );
        assert.equal(bodyJson(res)['error'], 'ERR_UNAUTHENTICATED', name);
      }
    },
  );

  await t.test(
    'a deny that sets its own http_status is sent as is to an anonymous caller (no sign-in)',
    async () => {
      for (const headers of [NAV, JSON_ACCEPT]) {
        const d = denied(await client.check(req('/limited/x', headers)));
        assert.equal(d.status?.code, 429);
        assert.equal(one(d.headers, 'location'), undefined);
        assert.equal(cookieNamed(d.headers, TXN_COOKIE), undefined);
        assert.equal(one(d.headers, 'www-authenticate'), undefined);
      }
    },
  );

  let signedIn: SignedIn | undefined;
  const session = async (): Promise<string> => {
    signedIn ??= await signInThroughCheck(client, '/.gatehouse/sign_in?rd=/app/home');
    assert.ok(
      signedIn.session,
      `the callback set a session: ${JSON.stringify(pairs(signedIn.callback.headers))}`,
    );
    return signedIn.session;
  };

  let assertion: string | undefined;
  await t.test(
    'a valid session: allowed with identity headers and an assertion JWT verified against the JWKS served through Check; app cookies kept, ours removed',
    async () => {
      const cookie = await session();
      const ok = allowed(
        await client.check(
          req('/app/x', {
            ...NAV,
            cookie: `a=1; ${SESSION_COOKIE}=${cookie}; b=2; ${TXN_COOKIE}=leftover`,
          }),
        ),
      );
      assert.equal(one(ok.headers, 'x-gatehouse-user'), 'alice');
      assert.equal(one(ok.headers, 'x-gatehouse-email'), 'alice@example.com');
      assert.equal(one(ok.headers, 'x-gatehouse-groups'), '"admins", "staff"');
      assert.equal(one(ok.headers, 'x-auth-method'), 'session');
      assert.equal(one(ok.headers, 'cookie'), 'a=1; b=2');
      assert.ok(!ok.headersToRemove.includes('cookie'));

      const jwksRes = denied(
        await client.check(req('/.well-known/gatehouse/jwks.json', JSON_ACCEPT)),
      );
      assert.equal(jwksRes.status?.code, 200);
      const jwks = JSON.parse(jwksRes.body) as JSONWebKeySet;
      assert.equal(jwks.keys.length, 1);
      for (const k of jwks.keys) assert.equal('d' in k, false, 'no private member');

      assertion = one(ok.headers, 'x-gatehouse-jwt-assertion');
      assert.ok(assertion);
      const { payload, protectedHeader } = await jwtVerify(assertion, createLocalJWKSet(jwks), {
        issuer: 'gatehouse',
        audience: HOST,
        algorithms: ['ES256'],
      });
      assert.equal(protectedHeader.alg, 'ES256');
      assert.equal(payload.sub, 'alice');
      assert.equal(payload['email'], 'alice@example.com');
      assert.deepEqual(payload['groups'], ['admins', 'staff']);
      assert.equal(typeof payload['sid'], 'string');
      assert.equal(typeof payload.jti, 'string');
      assert.ok((payload.exp ?? 0) > (payload.iat ?? 0));

      // Only Gatehouse's cookies: the cookie header is removed altogether.
      const onlyOurs = allowed(
        await client.check(req('/app/x', { ...NAV, cookie: `${SESSION_COOKIE}=${cookie}` })),
      );
      assert.equal(one(onlyOurs.headers, 'cookie'), undefined);
      assert.ok(onlyOurs.headersToRemove.includes('cookie'));
    },
  );

  await t.test(
    'spoofed identity headers in any case and with underscores are removed, for anonymous and signed-in callers',
    async () => {
      const spoofed: Record<string, string> = {
        'X-Gatehouse-User': 'mallory',
        x_gatehouse_user: 'mallory',
        X_GATEHOUSE_EMAIL: 'mallory@evil.example',
        'x-gatehouse-jwt-assertion': 'eyJhbGciOiJub25lIn0.e30.',
        'X-Gatehouse-Groups': 'admins',
      };
      // Anonymous, allowed by policy.
      const anon = allowed(await client.check(req('/public/x', { ...NAV, ...spoofed })));
      const removed = anon.headersToRemove.map((n) => n.toLowerCase());
      for (const name of Object.keys(spoofed))
        assert.ok(
          removed.includes(name.toLowerCase()),
          `${name} removed: ${JSON.stringify(anon.headersToRemove)}`,
        );
      for (const [name] of pairs(anon.headers))
        assert.doesNotMatch(
          name.replaceAll('_', '-'),
          /^x-gatehouse-/,
          `anonymous allow sets no identity header (${name})`,
        );

      // Signed in: each spoofed name is removed, or overwritten by the verified value.
      const cookie = await session();
      const ok = allowed(
        await client.check(
          req('/app/x', { ...NAV, ...spoofed, cookie: `${SESSION_COOKIE}=${cookie}` }),
        ),
      );
      const set = new Map(pairs(ok.headers));
      const gone = ok.headersToRemove.map((n) => n.toLowerCase());
      for (const name of Object.keys(spoofed)) {
        const lower = name.toLowerCase();
        if (set.has(lower)) assert.notEqual(set.get(lower), spoofed[name], `${name} overwritten`);
        else
          assert.ok(gone.includes(lower), `${name} removed: ${JSON.stringify(ok.headersToRemove)}`);
      }
      assert.equal(set.get('x-gatehouse-user'), 'alice');
      assert.equal(set.get('x-gatehouse-email'), 'alice@example.com');
      for (const v of set.values()) assert.ok(!v.includes('mallory'), 'no spoofed value written');
    },
  );

  await t.test(
    'an ID token, an assertion JWT or a session signed by another key as the session cookie: anonymous, cookie cleared',
    async () => {
      const { idToken } = await idpTokens(f);
      assert.ok(assertion, 'assertion from the previous test');
      const otherDir = mkdtempSync(join(f.dir, 'other-'));
      const otherRing = await loadSigningKeys({
        files: [await writeKeyFile(otherDir, 'other.pem')],
        development: false,
      });
      const other = memorySessions(otherRing);
      const foreign = (await other.book.issue(aliceSession())).cookieValue;
      await other.close();
      // Sanity: the same session from our own ring is accepted.
      const ours = await mint(aliceSession());
      allowed(
        await client.check(req('/app/x', { ...JSON_ACCEPT, cookie: `${SESSION_COOKIE}=${ours}` })),
      );

      for (const [name, token] of [
        ['ID token', idToken],
        ['assertion JWT', assertion],
        ['session from another key', foreign],
      ] as const) {
        const nav = denied(
          await client.check(req('/app/x', { ...NAV, cookie: `${SESSION_COOKIE}=${token}` })),
        );
        assert.equal(nav.status?.code, 302, `${name}: browser goes to sign-in`);
        assert.ok(one(nav.headers, 'location')?.startsWith(`${f.idp.issuer}/auth`), name);
        assertSessionCleared(nav.headers);
        const api = await client.check(
          req('/app/x', { ...JSON_ACCEPT, cookie: `${SESSION_COOKIE}=${token}` }),
        );
        assert.equal(statusOf(api), 401, name);
        assertSessionCleared(denied(api).headers);
        // Anonymous where the policy allows: still anonymous, still cleared.
        const pub = allowed(
          await client.check(req('/public/x', { ...NAV, cookie: `${SESSION_COOKIE}=${token}` })),
        );
        assert.equal(one(pub.headers, 'x-gatehouse-user'), undefined, name);
        assertSessionCleared(pub.responseHeadersToAdd);
      }
    },
  );

  await t.test(
    'a session cookie and an invalid bearer token: the bearer alone decides (401 invalid_token, never the cookie, never a redirect)',
    async () => {
      const cookie = await session();
      for (const headers of [NAV, JSON_ACCEPT]) {
        const res = await client.check(
          req('/app/x', {
            ...headers,
            cookie: `${SESSION_COOKIE}=${cookie}`,
            authorization: 'Bearer garbage.garbage.garbage',
          }),
        );
        const d = denied(res);
        assert.equal(d.status?.code, 401);
        assert.match(one(d.headers, 'www-authenticate') ?? '', /^Bearer .*error="invalid_token"/);
        assert.equal(one(d.headers, 'location'), undefined);
        assert.equal(bodyJson(res)['error'], 'ERR_TOKEN_INVALID');
        // The cookie was not consulted, so it is not judged (nor cleared) either.
        assert.equal(cookieNamed(d.headers, SESSION_COOKIE), undefined);
      }
      // Another scheme is the upstream's business: the cookie decides.
      const basic = allowed(
        await client.check(
          req('/app/x', {
            ...JSON_ACCEPT,
            cookie: `${SESSION_COOKIE}=${cookie}`,
            authorization: 'Basic YTpi',
          }),
        ),
      );
      assert.equal(one(basic.headers, 'x-auth-method'), 'session');
    },
  );

  await t.test(
    'bearer: a real at+jwt access token from the IdP authenticates with method bearer; a tampered one is 401 invalid_token',
    async () => {
      const idToken = await apiAccessToken(f.idp.issuer, 'bob');
      assert.equal(decodeProtectedHeader(idToken).typ, 'at+jwt');
      const ok = allowed(
        await client.check(req('/app/x', { ...JSON_ACCEPT, authorization: `Bearer ${idToken}` })),
      );
      assert.equal(one(ok.headers, 'x-auth-method'), 'bearer');
      assert.equal(one(ok.headers, 'x-gatehouse-user'), 'bob');
      assert.equal(one(ok.headers, 'x-gatehouse-email'), 'bob@example.com');
      const asserted = decodeJwt(one(ok.headers, 'x-gatehouse-jwt-assertion') ?? '');
      assert.equal(asserted['auth'], 'bearer');
      assert.equal(asserted.aud, HOST);

      const [h, p, s = ''] = idToken.split('.');
      const flipped = `${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
      const payload = JSON.parse(Buffer.from(p ?? '', 'base64url').toString('utf8')) as Record<
        string,
        unknown
      >;
      const forgedPayload = Buffer.from(
        JSON.stringify({ ...payload, sub: 'alice', email: 'alice@example.com' }),
      ).toString('base64url');
      for (const [name, token] of [
        ['tampered signature', `${h}.${p}.${flipped}`],
        ['tampered payload', `${h}.${forgedPayload}.${s}`],
      ] as const) {
        for (const headers of [NAV, JSON_ACCEPT]) {
          const res = await client.check(
            req('/app/x', { ...headers, authorization: `Bearer ${token}` }),
          );
          assert.equal(statusOf(res), 401, name);
          assert.match(
            one(denied(res).headers, 'www-authenticate') ?? '',
            /error="invalid_token"/,
            name,
          );
          assert.equal(bodyJson(res)['error'], 'ERR_TOKEN_INVALID', name);
        }
      }
    },
  );

  await t.test(
    "issue 17: a user's new access token reuses their assertion; another user's token gets their own",
    async () => {
      const assertionFor = async (token: string): Promise<string> => {
        const ok = allowed(
          await client.check(req('/app/x', { ...JSON_ACCEPT, authorization: `Bearer ${token}` })),
        );
        return one(ok.headers, 'x-gatehouse-jwt-assertion') ?? '';
      };
      const first = await apiAccessToken(f.idp.issuer, 'bob');
      const second = await apiAccessToken(f.idp.issuer, 'bob');
      assert.notEqual(second, first, 'two distinct access tokens');
      const reused = await assertionFor(first);
      assert.equal(await assertionFor(second), reused, 'the same signed assertion');
      assert.equal(decodeJwt(reused).sub, 'bob');

      const other = await assertionFor(await apiAccessToken(f.idp.issuer, 'alice'));
      assert.notEqual(other, reused);
      assert.equal(decodeJwt(other).sub, 'alice');
    },
  );

  await t.test(
    "issue 12 point 1: the IdP's real ID token for Gatehouse is never a bearer credential (401 invalid_token), nor the session cookie's ID token",
    async () => {
      const { idToken } = await idpTokens(f, 'bob');
      for (const headers of [NAV, JSON_ACCEPT]) {
        const res = await client.check(
          req('/app/x', { ...headers, authorization: `Bearer ${idToken}` }),
        );
        assert.equal(statusOf(res), 401);
        assert.match(one(denied(res).headers, 'www-authenticate') ?? '', /error="invalid_token"/);
        assert.equal(bodyJson(res)['error'], 'ERR_TOKEN_INVALID');
      }
    },
  );

  await t.test(
    'issue 12 point 4: a session is accepted only on the host it was issued for',
    async () => {
      const cookie = await session();
      allowed(
        await client.check(
          req('/app/x', { ...JSON_ACCEPT, cookie: `${SESSION_COOKIE}=${cookie}` }),
        ),
      );
      for (const other of ['other.example.test', `${HOST}.evil.example`, `${HOST}:8443`]) {
        const res = await client.check(
          httpRequest({
            method: 'GET',
            path: '/app/x',
            host: other,
            headers: { ...JSON_ACCEPT, cookie: `${SESSION_COOKIE}=${cookie}` },
          }),
        );
        assert.equal(statusOf(res), 401, other);
        assertSessionCleared(denied(res).headers);
      }
      // A session issued before binding (no host) is not accepted either.
      const { host: _host, ...unbound } = aliceSession();
      const legacy = await mint(unbound);
      assert.equal(
        statusOf(
          await client.check(
            req('/app/x', { ...JSON_ACCEPT, cookie: `${SESSION_COOKIE}=${legacy}` }),
          ),
        ),
        401,
      );
    },
  );

  await t.test(
    'issue 12 point 7: CR/LF in :authority never reaches a header Gatehouse writes (401 challenge, who-am-I, sign-in redirect)',
    async () => {
      const evil = 'app.example.test\r\nset-cookie: pwned=1\r\nx: "\\';
      for (const [path, headers] of [
        ['/app/x', JSON_ACCEPT],
        ['/.gatehouse/', JSON_ACCEPT],
        ['/app/x', NAV],
        ['/.gatehouse/sign_in', NAV],
      ] as const) {
        const res = await client.check(
          httpRequest({ method: 'GET', path, host: evil, headers: { ...headers } }),
        );
        const d = denied(res);
        for (const [name, value] of pairs(d.headers)) {
          assert.doesNotMatch(
            value,
            /[\u0000-\u001f\u007f]/,
            `${path}: ${name}: ${JSON.stringify(value)}`,
          );
          assert.notEqual(name, 'pwned');
        }
        assert.equal(
          values(d.headers, 'set-cookie').some((c) => c.startsWith('pwned')),
          false,
        );
      }
      const challenge = one(
        denied(
          await client.check(
            httpRequest({ method: 'GET', path: '/app/x', host: evil, headers: { ...JSON_ACCEPT } }),
          ),
        ).headers,
        'www-authenticate',
      );
      assert.equal(challenge, 'Bearer realm="app.example.testset-cookie: pwned=1x: "');
    },
  );

  await t.test(
    'refresh: an expired session holding a real refresh token is renewed (allowed, new session cookie)',
    async () => {
      const { refreshToken } = await idpTokens(f);
      assert.ok(refreshToken, 'the IdP gave a refresh token (offline_access)');
      // Signed in 9 hours ago: past session.ttl_seconds (8 h), so a refresh is due.
      const expired = await mint(
        aliceSession({ refresh_token: refreshToken, idp_iss: f.idp.issuer }),
        Date.now() - 9 * 3600_000,
      );
      const ok = allowed(
        await client.check(
          req('/app/x', { ...JSON_ACCEPT, cookie: `${SESSION_COOKIE}=${expired}` }),
        ),
      );
      assert.equal(one(ok.headers, 'x-gatehouse-user'), 'alice');
      const renewed = cookieNamed(ok.responseHeadersToAdd, SESSION_COOKIE);
      assert.ok(renewed, 'a new session cookie for the browser');
      assert.notEqual(renewed.value, '');
      assert.notEqual(renewed.value, expired);
      assertHostCookieAttributes(renewed);
      assert.ok(Number(renewed.attrs.get('max-age')) > 0);
      // The renewed session works on its own.
      const again = allowed(
        await client.check(
          req('/app/x', { ...JSON_ACCEPT, cookie: `${SESSION_COOKIE}=${renewed.value}` }),
        ),
      );
      assert.equal(one(again.headers, 'x-gatehouse-email'), 'alice@example.com');
      assert.equal(
        cookieNamed(again.responseHeadersToAdd, SESSION_COOKIE),
        undefined,
        'no refresh for a live session',
      );
    },
  );

  await t.test(
    'refresh: an expired session with a bogus refresh token is not renewed (sign-in or 401) and the cookie is cleared',
    async () => {
      // Signed in 9 hours ago: past session.ttl_seconds (8 h), so a refresh is due.
      const expired = await mint(
        aliceSession({ refresh_token: 'bogus-refresh-token', idp_iss: f.idp.issuer }),
        Date.now() - 9 * 3600_000,
      );
      const nav = denied(
        await client.check(req('/app/x', { ...NAV, cookie: `${SESSION_COOKIE}=${expired}` })),
      );
      assert.equal(nav.status?.code, 302);
      assert.ok(one(nav.headers, 'location')?.startsWith(`${f.idp.issuer}/auth`));
      assertSessionCleared(nav.headers);
      const api = denied(
        await client.check(
          req('/app/y', { ...JSON_ACCEPT, cookie: `${SESSION_COOKIE}=${expired}` }),
        ),
      );
      assert.equal(api.status?.code, 401);
      assertSessionCleared(api.headers);
    },
  );

  await t.test(
    'callback without the txn cookie: ERR_OIDC_TXN_MISSING error page, txn cookie cleared',
    async () => {
      const d = denied(
        await client.check(req('/.gatehouse/callback?code=abc&state=def&iss=x', NAV)),
      );
      assert.equal(d.status?.code, 401);
      assert.equal(one(d.headers, 'x-gatehouse-error'), 'ERR_OIDC_TXN_MISSING');
      const txn = cookieNamed(d.headers, TXN_COOKIE);
      assert.ok(txn, 'txn cookie cleared');
      assert.equal(txn.attrs.get('max-age'), '0');
      assertHostCookieAttributes(txn);
      assert.equal(cookieNamed(d.headers, SESSION_COOKIE), undefined, 'no session');
    },
  );

  await t.test(
    'callback success: Referrer-Policy no-referrer, Location without the code, session cookie with the fixed attributes, txn cleared',
    async () => {
      await session();
      const cb = signedIn?.callback;
      assert.ok(cb);
      assert.equal(cb.status?.code, 302);
      assert.equal(one(cb.headers, 'referrer-policy'), 'no-referrer');
      const location = one(cb.headers, 'location') ?? '';
      assert.equal(location, '/app/home');
      assert.doesNotMatch(location, /code=/);
      const s = signedIn?.sessionSetCookie;
      assert.ok(s);
      assertHostCookieAttributes(s);
      assert.ok(Number(s.attrs.get('max-age')) > 0);
      assert.equal(cookieNamed(cb.headers, TXN_COOKIE)?.attrs.get('max-age'), '0');
    },
  );

  await t.test(
    'open redirect: sign_in?rd=//evil.example (and friends) lands on / after a completed sign-in',
    async () => {
      for (const rd of [
        '//evil.example',
        '/\\evil.example',
        'https:evil.example',
        'https://evil.example/',
        '/%2F%2Fevil.example',
        '//user@evil.example',
      ]) {
        const done = await signInThroughCheck(
          client,
          `/.gatehouse/sign_in?rd=${encodeURIComponent(rd)}`,
        );
        assert.equal(done.callback.status?.code, 302, rd);
        assert.equal(one(done.callback.headers, 'location'), '/', rd);
        assert.ok(done.session, rd);
      }
      // The literal, unencoded form from a hand-written link.
      const literal = await signInThroughCheck(client, '/.gatehouse/sign_in?rd=//evil.example');
      assert.equal(one(literal.callback.headers, 'location'), '/');
    },
  );

  await t.test(
    'who am I: /.gatehouse/ as JSON returns identity and expires_at, and no token',
    async () => {
      const cookie = await session();
      const res = await client.check(
        req('/.gatehouse/', { ...JSON_ACCEPT, cookie: `${SESSION_COOKIE}=${cookie}` }),
      );
      const d = denied(res);
      assert.equal(d.status?.code, 200);
      const body = bodyJson(res);
      assert.equal(body['authenticated'], true);
      assert.equal(body['sub'], 'alice');
      assert.equal(body['email'], 'alice@example.com');
      assert.deepEqual(body['groups'], ['admins', 'staff']);
      assert.equal(typeof body['expires_at'], 'number');
      assert.ok((body['expires_at'] as number) > Date.now() / 1000);
      assert.doesNotMatch(d.body, /eyJ/, 'no JWT in the body');
      // HTML too.
      const html = denied(
        await client.check(req('/.gatehouse/', { ...NAV, cookie: `${SESSION_COOKIE}=${cookie}` })),
      );
      assert.equal(html.status?.code, 200);
      assert.doesNotMatch(html.body, /eyJ/);
      // Anonymous JSON: 401, no redirect.
      const anon = denied(await client.check(req('/.gatehouse/', JSON_ACCEPT)));
      assert.equal(anon.status?.code, 401);
    },
  );

  await t.test(
    'sign-out: GET shows a form and keeps the cookie; cross-site POST is 403 ERR_SIGN_OUT_FORBIDDEN; same-origin POST is 303 to end_session with client_id, never the ID token, and clears the cookie',
    async () => {
      const cookie = await session();
      const get = denied(
        await client.check(
          req('/.gatehouse/sign_out', {
            ...NAV,
            'sec-fetch-site': 'cross-site',
            cookie: `${SESSION_COOKIE}=${cookie}`,
          }),
        ),
      );
      assert.equal(get.status?.code, 200);
      assert.match(get.body, /<form method="post"/);
      assert.equal(
        cookieNamed(get.headers, SESSION_COOKIE),
        undefined,
        'a GET never clears the session',
      );

      const crossSite: Record<string, string>[] = [
        { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
        { 'sec-fetch-site': 'same-site', origin: `https://evil.${HOST}` },
        { origin: 'https://evil.example' },
        { origin: 'null' },
        {},
      ];
      for (const headers of crossSite) {
        // No Sec-Fetch-Site from NAV here: each case brings its own (or none, for old browsers).
        const d = denied(
          await client.check(
            req(
              '/.gatehouse/sign_out',
              {
                accept: NAV.accept,
                'sec-fetch-mode': 'navigate',
                ...headers,
                cookie: `${SESSION_COOKIE}=${cookie}`,
              },
              'POST',
            ),
          ),
        );
        assert.equal(d.status?.code, 403, JSON.stringify(headers));
        assert.equal(
          one(d.headers, 'x-gatehouse-error'),
          'ERR_SIGN_OUT_FORBIDDEN',
          JSON.stringify(headers),
        );
        assert.equal(cookieNamed(d.headers, SESSION_COOKIE), undefined, 'not cleared');
      }
      // Still signed in after the refused attempts.
      allowed(
        await client.check(
          req('/app/x', { ...JSON_ACCEPT, cookie: `${SESSION_COOKIE}=${cookie}` }),
        ),
      );

      const out = denied(
        await client.check(
          req(
            '/.gatehouse/sign_out',
            {
              ...NAV,
              'sec-fetch-site': 'same-origin',
              origin: ORIGIN,
              cookie: `${SESSION_COOKIE}=${cookie}`,
            },
            'POST',
          ),
        ),
      );
      assert.equal(out.status?.code, 303);
      const location = new URL(one(out.headers, 'location') ?? '');
      assert.equal(`${location.origin}${location.pathname}`, `${f.idp.issuer}/session/end`);
      // Issue 12 point 1: the ID token never goes into a URL the browser keeps; client_id stands in.
      assert.equal(location.searchParams.has('id_token_hint'), false);
      assert.doesNotMatch(location.href, /eyJ/);
      assert.equal(location.searchParams.get('client_id'), CLIENT_ID);
      assert.equal(location.searchParams.get('post_logout_redirect_uri'), POST_LOGOUT_URI);
      assertSessionCleared(out.headers);
      // Same attributes as when it was set, apart from the value and Max-Age.
      const setAttrs = [...(signedIn?.sessionSetCookie?.attrs.keys() ?? [])]
        .filter((k) => k !== 'max-age' && k !== 'expires')
        .sort();
      const clearAttrs = [...(cookieNamed(out.headers, SESSION_COOKIE)?.attrs.keys() ?? [])]
        .filter((k) => k !== 'max-age' && k !== 'expires')
        .sort();
      assert.deepEqual(clearAttrs, setAttrs);
      // The IdP accepts the hint and redirects back to the registered post-logout URI.
      const idpRes = await fetch(location, { redirect: 'manual' });
      assert.ok(
        idpRes.status === 200 || (idpRes.status >= 300 && idpRes.status < 400),
        `end_session answered ${idpRes.status}`,
      );
      await idpRes.arrayBuffer();
    },
  );

  await t.test(
    'issue 15: a copy of the session cookie taken before sign-out is refused afterwards (the record is revoked, not only the browser cookie)',
    async () => {
      // A real sign-in through Gatehouse (the previous test's session is already signed out).
      const copy = (await signInThroughCheck(client)).session;
      assert.ok(copy, 'the callback set a session');
      allowed(
        await client.check(req('/app/x', { ...JSON_ACCEPT, cookie: `${SESSION_COOKIE}=${copy}` })),
      );
      const out = denied(
        await client.check(
          req(
            '/.gatehouse/sign_out',
            {
              ...NAV,
              'sec-fetch-site': 'same-origin',
              origin: ORIGIN,
              cookie: `${SESSION_COOKIE}=${copy}`,
            },
            'POST',
          ),
        ),
      );
      assert.equal(out.status?.code, 303);
      const api = await client.check(
        req('/app/x', { ...JSON_ACCEPT, cookie: `${SESSION_COOKIE}=${copy}` }),
      );
      assert.equal(statusOf(api), 401, 'the copied cookie is no longer a session');
      assertSessionCleared(denied(api).headers);
      const nav = denied(
        await client.check(req('/app/x', { ...NAV, cookie: `${SESSION_COOKIE}=${copy}` })),
      );
      assert.equal(nav.status?.code, 302, 'a browser with the copy goes to sign-in');
      assert.ok(one(nav.headers, 'location')?.startsWith(`${f.idp.issuer}/auth`));
    },
  );
});

test('sessions survive a restart with a redis store: the same key file, secret file and store verify a cookie issued before', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const f = await setup(t, opa);
  const config = {
    ...identityConfig(f),
    session: { secret: { file: f.secretFile }, store: { kind: 'redis', url: redis.url } },
  };
  const first = await startTestGatehouse({ dir: f.policyDir, opa, watch: false }, config);
  const c1 = connect(first.gatehouse.grpcPort);
  let signed: SignedIn;
  try {
    signed = await signInThroughCheck(c1, '/.gatehouse/sign_in?rd=/app/after-restart');
    assert.equal(one(signed.callback.headers, 'location'), '/app/after-restart');
    assert.ok(signed.session);
    allowed(
      await c1.check(
        req('/app/x', { ...JSON_ACCEPT, cookie: `${SESSION_COOKIE}=${signed.session}` }),
      ),
    );
  } finally {
    c1.close();
    await first.gatehouse.stop();
  }

  const second = await startTestGatehouse({ dir: f.policyDir, opa, watch: false }, config);
  const c2 = connect(second.gatehouse.grpcPort);
  t.after(async () => {
    c2.close();
    await second.gatehouse.stop();
  });
  const ok = allowed(
    await c2.check(
      req('/app/x', { ...JSON_ACCEPT, cookie: `${SESSION_COOKIE}=${signed.session}` }),
    ),
  );
  assert.equal(one(ok.headers, 'x-gatehouse-user'), 'alice');
  assert.equal(one(ok.headers, 'x-gatehouse-email'), 'alice@example.com');
  assert.equal(
    cookieNamed(ok.responseHeadersToAdd, SESSION_COOKIE),
    undefined,
    'not cleared, not refreshed',
  );
});

test('bearer: an expired IdP token is 401 invalid_token with ERR_TOKEN_EXPIRED', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  // An IdP whose ID tokens live 2 s, and a Gatehouse without clock tolerance.
  const idp = await startIdp({
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [REDIRECT_URI],
        post_logout_redirect_uris: [POST_LOGOUT_URI],
      },
      TEST_API_CLIENT,
    ],
    api: { resource: TEST_API },
    ttl: { idToken: 2, accessToken: 2 },
  });
  t.after(() => idp.stop());
  const base = await setup(t, opa);
  const oidc = createOidcClient({
    issuer: idp.url,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    scopes: SCOPES,
    allowInsecureIssuer: true,
    timeoutMs: 5000,
  });
  t.after(() => oidc.close());
  const f: Fixture = { ...base, idp, oidc };
  const { gatehouse } = await startTestGatehouse(
    { dir: f.policyDir, opa, watch: false },
    identityConfig(f, { clock_tolerance_seconds: 0 }),
  );
  const client = connect(gatehouse.grpcPort);
  t.after(async () => {
    client.close();
    await gatehouse.stop();
  });

  const idToken = await apiAccessToken(f.idp.issuer, 'bob');
  const exp = decodeJwt(idToken).exp ?? 0;
  await sleep(Math.max(0, exp * 1000 - Date.now()) + 1500);
  for (const headers of [NAV, JSON_ACCEPT]) {
    const res = await client.check(
      req('/app/x', { ...headers, authorization: `Bearer ${idToken}` }),
    );
    assert.equal(statusOf(res), 401);
    assert.match(one(denied(res).headers, 'www-authenticate') ?? '', /error="invalid_token"/);
    assert.equal(bodyJson(res)['error'], 'ERR_TOKEN_EXPIRED');
  }
});

test('headers.assertion_skip_hosts: no assertion is signed for a listed host (user headers still set, a spoofed assertion still removed); other hosts still get one', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const f = await setup(t, opa);
  const { gatehouse } = await startTestGatehouse(
    { dir: f.policyDir, opa, watch: false },
    { ...identityConfig(f), headers: { assertion_skip_hosts: [HOST] } },
  );
  const client = connect(gatehouse.grpcPort);
  t.after(async () => {
    client.close();
    await gatehouse.stop();
  });
  const token = await apiAccessToken(f.idp.issuer, 'bob');
  const headers = {
    ...JSON_ACCEPT,
    authorization: `Bearer ${token}`,
    'x-gatehouse-jwt-assertion': 'eyJhbGciOiJub25lIn0.e30.',
  };
  for (let i = 0; i < 2; i++) {
    const skipped = allowed(await client.check(req('/app/x', headers)));
    assert.equal(one(skipped.headers, 'x-gatehouse-jwt-assertion'), undefined);
    assert.ok(skipped.headersToRemove.includes('x-gatehouse-jwt-assertion'));
    assert.equal(one(skipped.headers, 'x-gatehouse-user'), 'bob');
    assert.equal(one(skipped.headers, 'x-auth-method'), 'bearer');
  }
  const other = 'api.example.test';
  const signed = allowed(
    await client.check(httpRequest({ method: 'GET', path: '/app/x', host: other, headers })),
  );
  const assertion = decodeJwt(one(signed.headers, 'x-gatehouse-jwt-assertion') ?? '');
  assert.equal(assertion.aud, other);
  assert.equal(assertion.sub, 'bob');
});

/** A session created in the running Gatehouse's store (as its sign-in would), as a cookie value. */
async function mintSession(
  gatehouse: Gatehouse,
  input: SessionInput,
  now?: number,
): Promise<string> {
  assert.ok(gatehouse.sessions, 'identity is configured');
  return (await gatehouse.sessions.issue(input, now === undefined ? {} : { now })).cookieValue;
}

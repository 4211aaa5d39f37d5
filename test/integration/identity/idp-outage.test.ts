/**
 * The identity provider down, wrong or slow, with the real demo IdP (oidc-provider on loopback)
 * and a real gRPC client against an in-process Gatehouse:
 *
 * - the IdP down before Gatehouse starts: bearer tokens and sessions (in Redis) keep working from the
 *   persisted keys (`identity.cache_file`), and discovery recovers by itself when the IdP returns;
 * - a wrong `identity.issuer` is logged and shown in `/readyz`;
 * - a browser gets Gatehouse's page, not JSON, when the IdP is unavailable on a protected path;
 * - a client that ignores Set-Cookie on an expired session does not cause a refresh per request;
 * - a slow IdP during a refresh: the refresh gives up after identity.timeout_ms;
 * - identity.static_jwks_file.
 *
 * No timing assertions: waits poll with a bounded deadline. The recovery time is printed as a
 * diagnostic (the figure in docs/operations.md comes from it).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { exportPKCS8, generateKeyPair } from 'jose';
import { startIdp, type RunningIdp } from '../../../demo/idp/start.js';
import type { HeaderValueOption } from '../../../src/gen/envoy/config/core/v3/base_pb.js';
import type {
  CheckResponse,
  DeniedHttpResponse,
  OkHttpResponse,
} from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { completeSignIn } from '../../../src/oidc/callback.js';
import { createOidcClient } from '../../../src/oidc/client.js';
import { createReplayCache } from '../../../src/oidc/replay-cache.js';
import { startSignIn } from '../../../src/oidc/sign-in.js';
import type { Gatehouse } from '../../../src/server/start.js';
import type { SessionInput } from '../../../src/identity/session/types.js';
import { startTestGatehouse, type LogSink } from '../../support/gatehouse.js';
import { startRedis } from '../../support/redis.js';
import { connect, httpRequest, type TestClient } from '../../support/grpc-client.js';
import { apiAccessToken, browseToCallback, TEST_API, TEST_API_CLIENT } from '../../support/idp.js';
import { testdata } from '../../support/paths.js';
import { freePort } from '../../support/ports.js';
import { startSlowProxy } from '../../support/slow-proxy.js';
import { requireTool } from '../../support/tools.js';
import { get, sample, until } from '../ops/support.js';

const HOST = 'app.example.test';
const REDIRECT_URI = `https://${HOST}/.gatehouse/callback`;
const CLIENT_ID = 'gatehouse';
const CLIENT_SECRET = 'gatehouse-outage-test-secret-0123456789';
const SCOPES = ['openid', 'email', 'profile', 'groups', 'offline_access'];
const SESSION_COOKIE = '__Host-gatehouse';
const NAV = {
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-site': 'none',
  'sec-fetch-dest': 'document',
} as const;
const JSON_ACCEPT = { accept: 'application/json' } as const;

interface Fixture {
  readonly dir: string;
  readonly keyFile: string;
  readonly secretFile: string;
  readonly policyDir: string;
  readonly opa: string;
}

async function fixture(opa: string): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-idp-outage-'));
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const keyFile = join(dir, 'signing.pem');
  writeFileSync(keyFile, await exportPKCS8(privateKey), { mode: 0o600 });
  const secretFile = join(dir, 'session-secret');
  writeFileSync(secretFile, randomBytes(32).toString('base64url'), { mode: 0o600 });
  const policyDir = mkdtempSync(join(dir, 'policy-'));
  copyFileSync(testdata('identity', 'authz.rego'), join(policyDir, 'authz.rego'));
  return { dir, keyFile, secretFile, policyDir, opa };
}

function startIdpAt(port: number): Promise<RunningIdp> {
  return startIdp({
    port,
    clients: [
      { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT_URI] },
      TEST_API_CLIENT,
    ],
    api: { resource: TEST_API },
  });
}

async function startGatehouse(
  t: TestContext,
  f: Fixture,
  issuer: string,
  identity: Record<string, unknown> = {},
  store?: { readonly kind: 'redis'; readonly url: string },
): Promise<{ gatehouse: Gatehouse; logs: LogSink; client: TestClient }> {
  const { gatehouse, logs } = await startTestGatehouse(
    { dir: f.policyDir, opa: f.opa, watch: false },
    {
      development: true,
      keys: { signing: [f.keyFile] },
      session: { secret: { file: f.secretFile }, ...(store === undefined ? {} : { store }) },
      identity: {
        issuer,
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        scopes: SCOPES,
        bearer: { audiences: [TEST_API] },
        ...identity,
      },
    },
  );
  const client = connect(gatehouse.grpcPort);
  t.after(async () => {
    client.close();
    await gatehouse.stop();
  });
  return { gatehouse, logs, client };
}

/** Real tokens from the IdP for `alice`, signed in without a browser. */
async function idpTokens(
  idp: RunningIdp,
): Promise<{ idToken: string; refreshToken: string | undefined }> {
  const oidc = createOidcClient({
    issuer: idp.url,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    scopes: SCOPES,
    allowInsecureIssuer: true,
    timeoutMs: 5000,
  });
  try {
    const txnKey = new Uint8Array(randomBytes(32));
    const { location, txnCookie } = await startSignIn({
      client: oidc,
      redirectUri: REDIRECT_URI,
      returnTo: '/',
      txnKey,
    });
    const callback = await browseToCallback({
      authorizationUrl: location,
      redirectUri: REDIRECT_URI,
      username: 'alice',
      password: 'alice',
    });
    const result = await completeSignIn({
      client: oidc,
      currentUrl: callback,
      txnCookieValue: txnCookie.value,
      txnKey,
      redirectUri: REDIRECT_URI,
      replayCache: createReplayCache(),
    });
    return { idToken: result.tokens.id_token, refreshToken: result.tokens.refresh_token };
  } finally {
    oidc.close();
  }
}

/** A session created in the running Gatehouse's store, as its sign-in would; `now` backdates it. */
async function sessionCookie(
  gatehouse: Gatehouse,
  extra: Partial<SessionInput> = {},
  now?: number,
): Promise<string> {
  assert.ok(gatehouse.sessions, 'identity is configured');
  const session: SessionInput = {
    host: HOST,
    sub: 'alice',
    email: 'alice@example.com',
    email_verified: true,
    name: 'Alice',
    groups: ['staff'],
    idp_iss: 'http://127.0.0.1',
    claims: {},
    ...extra,
  };
  return (await gatehouse.sessions.issue(session, now === undefined ? {} : { now })).cookieValue;
}

function req(path: string, headers: Record<string, string> = {}) {
  return httpRequest({ method: 'GET', path, host: HOST, headers });
}

function allowed(res: CheckResponse): OkHttpResponse {
  assert.equal(
    res.httpResponse.case,
    'okResponse',
    `expected an allow, got ${res.httpResponse.case}: ${res.httpResponse.case === 'deniedResponse' ? `${res.httpResponse.value.status?.code} ${res.httpResponse.value.body.slice(0, 200)}` : ''}`,
  );
  return res.httpResponse.value as OkHttpResponse;
}

function denied(res: CheckResponse): DeniedHttpResponse {
  assert.equal(
    res.httpResponse.case,
    'deniedResponse',
    `expected a deny, got ${res.httpResponse.case}`,
  );
  return res.httpResponse.value as DeniedHttpResponse;
}

function header(options: readonly HeaderValueOption[], name: string): string | undefined {
  return options.find((o) => o.header?.key.toLowerCase() === name)?.header?.value;
}

function sessionSetCookie(options: readonly HeaderValueOption[]): string | undefined {
  return options
    .filter((o) => o.header?.key.toLowerCase() === 'set-cookie')
    .map((o) => o.header?.value ?? '')
    .find((v) => v.startsWith(`${SESSION_COOKIE}=`));
}

function readCache(file: string): { fetched_at: number; jwks: unknown } {
  return JSON.parse(readFileSync(file, 'utf8')) as { fetched_at: number; jwks: unknown };
}

async function readyz(port: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const { status, text } = await get(port, '/readyz');
  return { status, body: JSON.parse(text) as Record<string, unknown> };
}

test('the IdP down before Gatehouse starts: bearer tokens and sessions work from the cache file; discovery recovers by itself when the IdP returns', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const f = await fixture(opa);
  const idpPort = await freePort();
  const stateDir = join(f.dir, 'state');
  mkdirSync(stateDir, { mode: 0o700 });
  const cacheFile = join(stateDir, 'idp-cache.json');
  const issuer = `http://127.0.0.1:${idpPort}`;

  // Sessions outlive a restart only in a store that outlives the process: Redis.
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const store = { kind: 'redis', url: redis.url } as const;

  // 1. The IdP is up: a first Gatehouse discovers it and persists its discovery document and keys.
  let idp: RunningIdp | undefined = await startIdpAt(idpPort);
  t.after(() => idp?.stop());
  const first = await startGatehouse(t, f, issuer, { cache_file: cacheFile }, store);
  await until(() => existsSync(cacheFile), 15_000, 'the cache file');
  assert.equal(statSync(cacheFile).mode & 0o777, 0o600, 'readable by the service user only');
  const accessToken = await apiAccessToken(idp.issuer, 'alice');
  const session = await sessionCookie(first.gatehouse, { idp_iss: issuer });
  await first.gatehouse.stop();
  await idp.stop();
  idp = undefined;
  const persisted = readCache(cacheFile);

  // 2. The IdP is down; a new Gatehouse starts from the cache file.
  const second = await startGatehouse(t, f, issuer, { cache_file: cacheFile }, store);
  const startedAt = Date.now();
  await until(
    async () =>
      (await readyz(second.gatehouse.httpPort)).body['identity_provider_error'] !== undefined,
    15_000,
    'a failed discovery in /readyz',
  );
  const ready = await readyz(second.gatehouse.httpPort);
  assert.equal(ready.status, 200, 'ready: bearer tokens and sessions can be served');
  assert.equal(ready.body['identity_provider'], 'cached');
  assert.match(String(ready.body['identity_provider_error']), /ECONNREFUSED|fetch failed/);
  assert.equal(typeof ready.body['identity_keys_fetched_at'], 'string');

  const bearer = allowed(
    await second.client.check(
      req('/app/reports', { ...JSON_ACCEPT, authorization: `Bearer ${accessToken}` }),
    ),
  );
  assert.equal(header(bearer.headers, 'x-auth-method'), 'bearer');
  assert.equal(header(bearer.headers, 'x-gatehouse-user'), 'alice');
  const cookie = allowed(
    await second.client.check(
      req('/app/reports', { ...NAV, cookie: `${SESSION_COOKIE}=${session}` }),
    ),
  );
  assert.equal(header(cookie.headers, 'x-auth-method'), 'session');

  // A signed-out browser cannot sign in now: Gatehouse's own page, not JSON (issue 11, point 7).
  const page = denied(await second.client.check(req('/app/reports?x=1', NAV)));
  assert.equal(page.status?.code, 503);
  assert.match(header(page.headers, 'content-type') ?? '', /^text\/html/);
  assert.equal(header(page.headers, 'x-gatehouse-error'), 'ERR_OIDC_UNAVAILABLE');
  assert.match(
    page.body,
    /href="\/app\/reports\?x=1"/,
    'Try again leads back to the page asked for',
  );
  // An API client without a credential still gets its 401, with no IdP call.
  assert.equal(
    denied(await second.client.check(req('/app/reports', JSON_ACCEPT))).status?.code,
    401,
  );

  // 3. Keep the IdP down long enough for the retry back-off to reach its cap (0.5+1+2+4 s), then
  // bring it back on the same port and wait for discovery to recover, with a bounded deadline.
  await sleep(Math.max(0, 10_000 - (Date.now() - startedAt)));
  idp = await startIdpAt(idpPort);
  const back = Date.now();
  await until(
    async () => (await readyz(second.gatehouse.httpPort)).body['identity_provider'] === 'ready',
    20_000,
    'discovery after the IdP came back',
  );
  const recoveryMs = Date.now() - back;
  t.diagnostic(
    `discovery recovered ${recoveryMs} ms after the IdP came back (outage ${Math.round((back - startedAt) / 1000)} s)`,
  );
  const after = await readyz(second.gatehouse.httpPort);
  assert.equal(after.body['identity_provider_error'], undefined, 'the error is cleared');
  // The restarted demo IdP has new keys; the key source picks them up and persists them.
  await until(
    () => readCache(cacheFile).fetched_at > persisted.fetched_at,
    15_000,
    'the cache file rewritten with the new keys',
  );
  assert.notDeepEqual(readCache(cacheFile).jwks, persisted.jwks);
  const fresh = await apiAccessToken(idp.issuer, 'alice');
  allowed(
    await second.client.check(
      req('/app/reports', { ...JSON_ACCEPT, authorization: `Bearer ${fresh}` }),
    ),
  );
  assert.ok(
    second.logs.lines.some((l) => l['msg'] === 'identity provider keys loaded from the cache file'),
  );
  assert.ok(second.logs.lines.some((l) => l['msg'] === 'identity provider discovered'));
});

test('without a cache file, the IdP down at start: not ready, bearer tokens refused (fail closed)', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const f = await fixture(opa);
  const idpPort = await freePort();
  const idp = await startIdpAt(idpPort);
  const accessToken = await apiAccessToken(idp.issuer, 'alice');
  await idp.stop();
  const { gatehouse, client } = await startGatehouse(t, f, `http://127.0.0.1:${idpPort}`);
  const res = denied(
    await client.check(
      req('/app/reports', { ...JSON_ACCEPT, authorization: `Bearer ${accessToken}` }),
    ),
  );
  assert.equal(res.status?.code, 401);
  const report = await readyz(gatehouse.httpPort);
  assert.equal(report.status, 503);
  assert.equal(report.body['identity_provider'], 'pending');
});

test('a wrong identity.issuer is logged at once (then rate-limited) and its error shown in /readyz', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const f = await fixture(opa);
  const idp = await startIdpAt(0);
  t.after(() => idp.stop());
  const { gatehouse, logs } = await startGatehouse(t, f, `${idp.issuer}/wrong`);
  const failed = () =>
    logs.lines.filter((l) => l['msg'] === 'identity provider discovery failed; retrying');
  await until(() => failed().length > 0, 15_000, 'a logged discovery failure');
  const line = failed()[0] ?? {};
  assert.equal(line['level'], 'warn');
  assert.equal(line['code'], 'ERR_OIDC_UNAVAILABLE');
  assert.equal(typeof line['error'], 'string');
  const report = await readyz(gatehouse.httpPort);
  assert.equal(report.status, 503);
  assert.equal(report.body['identity_provider'], 'pending');
  assert.equal(
    report.body['identity_provider_error'],
    line['error'],
    '/readyz says what the log says',
  );
  // A few more attempts happen (0.5 s doubling); the log does not repeat them within 30 s.
  await sleep(2000);
  assert.equal(failed().length, 1);
});

test('a client that ignores Set-Cookie on an expired session causes one IdP refresh per session per interval, not one per request', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const f = await fixture(opa);
  const idp = await startIdpAt(0);
  t.after(() => idp.stop());
  const { gatehouse, client } = await startGatehouse(t, f, idp.issuer);
  const { refreshToken } = await idpTokens(idp);
  assert.ok(refreshToken, 'the IdP gave a refresh token (offline_access)');
  const expiredAt = Date.now() - 9 * 3600_000;
  const good = await sessionCookie(
    gatehouse,
    { refresh_token: refreshToken, idp_iss: idp.issuer },
    expiredAt,
  );
  const bogus = await sessionCookie(
    gatehouse,
    { refresh_token: 'bogus-refresh-token', idp_iss: idp.issuer },
    expiredAt,
  );

  const renewed: (string | undefined)[] = [];
  const round = async () => {
    for (let i = 0; i < 5; i++) {
      // The same expired cookie every time: the Set-Cookie of the last answer is ignored.
      renewed.push(
        sessionSetCookie(
          allowed(
            await client.check(
              req('/app/x', { ...JSON_ACCEPT, cookie: `${SESSION_COOKIE}=${good}` }),
            ),
          ).responseHeadersToAdd,
        ),
      );
      assert.equal(
        denied(
          await client.check(
            req('/app/x', { ...JSON_ACCEPT, cookie: `${SESSION_COOKIE}=${bogus}` }),
          ),
        ).status?.code,
        401,
      );
    }
  };
  await round();
  // Longer than the 5 s the previous code remembered a refresh for, well inside the 60 s default.
  await sleep(5500);
  await round();

  const metrics = (await get(gatehouse.httpPort, '/metrics')).text;
  assert.equal(
    sample(metrics, 'gatehouse_session_refreshes_total', { result: 'success' }),
    1,
    'one refresh grant for the good session',
  );
  assert.equal(
    sample(metrics, 'gatehouse_session_refreshes_total', { result: 'failure' }),
    1,
    'one refused refresh for the bogus one',
  );
  // The record in the store is renewed once; the old handle names it, so only the answer that
  // refreshed sets a cookie (a new handle for the same session) and the others need none.
  assert.ok(renewed[0]?.startsWith(`${SESSION_COOKIE}=ey`), 'the refreshing answer sets a cookie');
  assert.deepEqual(renewed.slice(1), Array(renewed.length - 1).fill(undefined));
});

test('identity.static_jwks_file: bearer tokens verify with the configured keys while the IdP is down; a bad file, or a cache_file folder that does not exist, stops the start naming the key', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const f = await fixture(opa);
  const idpPort = await freePort();
  const idp = await startIdpAt(idpPort);
  const discovery = (await (
    await fetch(`${idp.issuer}/.well-known/openid-configuration`)
  ).json()) as { jwks_uri: string };
  const jwksFile = join(f.dir, 'idp-jwks.json');
  writeFileSync(jwksFile, await (await fetch(discovery.jwks_uri)).text());
  const accessToken = await apiAccessToken(idp.issuer, 'alice');
  await idp.stop();

  const { gatehouse, client } = await startGatehouse(t, f, idp.issuer, {
    static_jwks_file: jwksFile,
  });
  const ok = allowed(
    await client.check(
      req('/app/reports', { ...JSON_ACCEPT, authorization: `Bearer ${accessToken}` }),
    ),
  );
  assert.equal(header(ok.headers, 'x-auth-method'), 'bearer');
  const report = await readyz(gatehouse.httpPort);
  assert.equal(report.status, 200);
  assert.equal(report.body['identity_provider'], 'cached');

  await assert.rejects(
    startGatehouse(t, f, idp.issuer, { cache_file: join(f.dir, 'no-such-folder', 'idp.json') }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_CONFIG_INVALID');
      assert.match(err.message, /identity\.cache_file: the folder .*no-such-folder must exist/);
      return true;
    },
  );

  const bad = join(f.dir, 'bad-jwks.json');
  writeFileSync(bad, JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }));
  await assert.rejects(
    startGatehouse(t, f, idp.issuer, { static_jwks_file: bad }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_CONFIG_INVALID');
      assert.match(err.message, /identity\.static_jwks_file: .*only public keys/);
      return true;
    },
  );
});

test('a slow IdP during a session refresh: the refresh gives up after identity.timeout_ms and the browser is sent to sign in', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const f = await fixture(opa);
  const idpPort = await freePort();
  const proxy = await startSlowProxy({ targetPort: () => idpPort });
  t.after(() => proxy.close());
  const idp = await startIdp({
    port: idpPort,
    issuerPort: proxy.port,
    clients: [
      { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT_URI] },
    ],
  });
  t.after(() => idp.stop());
  const { gatehouse, client } = await startGatehouse(t, f, idp.issuer);
  await until(() => gatehouse.readiness().identity_provider === 'ready', 15_000, 'discovery');
  const { refreshToken } = await idpTokens(idp);
  assert.ok(refreshToken);
  const expired = await sessionCookie(
    gatehouse,
    { refresh_token: refreshToken, idp_iss: idp.issuer },
    Date.now() - 9 * 3600_000,
  );

  // The token endpoint now answers after 3 s; the previous code waited 5 s and then renewed
  // (long after Envoy's 0.5 s had run out).
  proxy.delayMs = 3000;
  const nav = denied(
    await client.check(req('/app/x', { ...NAV, cookie: `${SESSION_COOKIE}=${expired}` })),
  );
  assert.equal(nav.status?.code, 302, 'sent to sign in');
  assert.ok(header(nav.headers, 'location')?.startsWith(`${idp.issuer}/auth`));
  assert.match(
    sessionSetCookie(nav.headers) ?? '',
    /^__Host-gatehouse=;.*Max-Age=0/,
    'the expired session is cleared',
  );
  const metrics = (await get(gatehouse.httpPort, '/metrics')).text;
  assert.equal(sample(metrics, 'gatehouse_session_refreshes_total', { result: 'failure' }), 1);
  assert.equal(
    sample(metrics, 'gatehouse_session_refreshes_total', { result: 'success' }),
    undefined,
  );
});

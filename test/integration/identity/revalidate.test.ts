/**
 * Issue 15, "re-verification while the session lives": periodic re-validation with the identity
 * provider (`session.revalidate_interval_seconds`), with the real demo IdP (oidc-provider), real
 * sign-ins through the Check path and a real gRPC client against in-process Gatehouses:
 *
 * - with a refresh token: changed groups reach `input.identity` at the next re-validation, and a
 *   user removed at the IdP loses access then (revoked in the store, logged who and why);
 * - without one: the same through UserInfo with the access token kept from sign-in;
 * - the IdP unreachable: the session is kept until the grace ends, then a 503 (cookie kept);
 * - two replicas on one Redis: one call to the IdP for a due session, and no one signed out.
 *
 * Time moves through the test clock of the in-process start API (`StartOptions.clock`), never
 * a configuration key. No timing assertions.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { exportPKCS8, generateKeyPair } from 'jose';
import { startIdp, type RunningIdp } from '../../../demo/idp/start.js';
import type { HeaderValueOption } from '../../../src/gen/envoy/config/core/v3/base_pb.js';
import type { CheckResponse } from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import type { Gatehouse } from '../../../src/server/start.js';
import { startTestGatehouse, type LogSink } from '../../support/gatehouse.js';
import { connect, httpRequest, type TestClient } from '../../support/grpc-client.js';
import { browseToCallback } from '../../support/idp.js';
import { testdata } from '../../support/paths.js';
import { freePort } from '../../support/ports.js';
import { startRedis } from '../../support/redis.js';
import { startSlowProxy, type SlowProxy } from '../../support/slow-proxy.js';
import { requireTool } from '../../support/tools.js';

const HOST = 'app.example.test';
const REDIRECT_URI = `https://${HOST}/.gatehouse/callback`;
const CLIENT_ID = 'gatehouse-revalidate';
const CLIENT_SECRET = 'gatehouse-revalidate-secret-0123456789';
const WITH_REFRESH = ['openid', 'email', 'profile', 'groups', 'offline_access'];
const WITHOUT_REFRESH = ['openid', 'email', 'profile', 'groups'];
const SESSION_COOKIE = '__Host-gatehouse';
const TXN_COOKIE = '__Host-gatehouse-txn';
const INTERVAL_S = 60;
const GRACE_S = 120;
const NAV = {
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-site': 'none',
  'sec-fetch-dest': 'document',
} as const;
const JSON_ACCEPT = { accept: 'application/json' } as const;

/** The sessions' clock: real time plus what the test has skipped. */
class TestClock {
  offsetMs = 0;
  readonly now = (): number => Date.now() + this.offsetMs;
  skip(seconds: number): void {
    this.offsetMs += seconds * 1000;
  }
}

interface Fixture {
  readonly idp: RunningIdp;
  /** In front of the IdP (the issuer names its port): slows it down, or stands in for its outage. */
  readonly proxy: SlowProxy;
  readonly keyFile: string;
  readonly secretFile: string;
  readonly policyDir: string;
  readonly opa: string;
}

async function fixture(t: TestContext, opa: string): Promise<Fixture> {
  const idpPort = await freePort();
  const proxy = await startSlowProxy({ targetPort: () => idpPort });
  const idp = await startIdp({
    port: idpPort,
    issuerPort: proxy.port,
    clients: [
      { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT_URI] },
    ],
  });
  t.after(async () => {
    await proxy.close().catch(() => undefined);
    await idp.stop();
  });
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-revalidate-'));
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const keyFile = join(dir, 'signing.pem');
  writeFileSync(keyFile, await exportPKCS8(privateKey), { mode: 0o600 });
  const secretFile = join(dir, 'session-secret');
  writeFileSync(secretFile, randomBytes(32).toString('base64url'), { mode: 0o600 });
  const policyDir = mkdtempSync(join(dir, 'policy-'));
  copyFileSync(testdata('identity', 'authz.rego'), join(policyDir, 'authz.rego'));
  return { idp, proxy, keyFile, secretFile, policyDir, opa };
}

async function gatehouseFor(
  t: TestContext,
  f: Fixture,
  clock: TestClock,
  scopes: readonly string[],
  store?: { readonly kind: 'redis'; readonly url: string },
): Promise<{ gatehouse: Gatehouse; logs: LogSink; client: TestClient }> {
  const { gatehouse, logs } = await startTestGatehouse(
    { dir: f.policyDir, opa: f.opa, watch: false },
    {
      development: true,
      keys: { signing: [f.keyFile] },
      session: {
        secret: { file: f.secretFile },
        revalidate_interval_seconds: INTERVAL_S,
        revalidate_grace_seconds: GRACE_S,
        ...(store === undefined ? {} : { store }),
      },
      identity: {
        issuer: `http://127.0.0.1:${f.proxy.port}`,
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        scopes,
        timeout_ms: 5000,
      },
    },
    { clock: clock.now },
  );
  const client = connect(gatehouse.grpcPort);
  t.after(async () => {
    client.close();
    await gatehouse.stop();
  });
  return { gatehouse, logs, client };
}

function pairs(options: readonly HeaderValueOption[]): [string, string][] {
  return options.map((o) => [(o.header?.key ?? '').toLowerCase(), o.header?.value ?? '']);
}

function header(options: readonly HeaderValueOption[], name: string): string | undefined {
  return pairs(options).find(([k]) => k === name)?.[1];
}

function setCookie(options: readonly HeaderValueOption[], name: string): string | undefined {
  for (const [k, v] of pairs(options)) {
    if (k !== 'set-cookie') continue;
    const [pair = ''] = v.split(';');
    if (pair.startsWith(`${name}=`)) return pair.slice(name.length + 1);
  }
  return undefined;
}

function req(path: string, headers: Record<string, string> = {}) {
  return httpRequest({ method: 'GET', path, host: HOST, headers });
}

/** Sign in through Gatehouse's reserved paths, driving the IdP's login form without a browser. */
async function signIn(client: TestClient, username: string): Promise<string> {
  const start = await client.check(req('/.gatehouse/sign_in', NAV));
  assert.equal(start.httpResponse.case, 'deniedResponse');
  const headers = start.httpResponse.value?.headers ?? [];
  const location = header(headers, 'location');
  const txn = setCookie(headers, TXN_COOKIE);
  assert.ok(location !== undefined && txn !== undefined, 'sign-in redirects with a txn cookie');
  const cb = await browseToCallback({
    authorizationUrl: location,
    redirectUri: REDIRECT_URI,
    username,
    password: username,
  });
  const callback = await client.check(
    req(`${cb.pathname}${cb.search}`, {
      ...NAV,
      'sec-fetch-site': 'cross-site',
      cookie: `${TXN_COOKIE}=${txn}`,
    }),
  );
  assert.equal(callback.httpResponse.case, 'deniedResponse');
  const session = setCookie(callback.httpResponse.value?.headers ?? [], SESSION_COOKIE);
  assert.ok(session, 'the callback sets the session cookie');
  return session;
}

/** GET /app with the session cookie, as an API client (no sign-in redirect). */
function visit(client: TestClient, session: string): Promise<CheckResponse> {
  return client.check(req('/app', { ...JSON_ACCEPT, cookie: `${SESSION_COOKIE}=${session}` }));
}

/** The groups the upstream is told, or a failure naming what the Check answered instead. */
function groupsAllowed(res: CheckResponse): string {
  if (res.httpResponse.case !== 'okResponse')
    assert.fail(`expected an allow, got ${res.httpResponse.case} ${JSON.stringify(denial(res))}`);
  return header(res.httpResponse.value.headers, 'x-gatehouse-groups') ?? '';
}

function denial(res: CheckResponse): {
  status: number;
  error: string | undefined;
  cleared: boolean;
} {
  assert.equal(res.httpResponse.case, 'deniedResponse', 'expected a deny');
  const d = res.httpResponse.value;
  return {
    status: d?.status?.code ?? 0,
    error: header(d?.headers ?? [], 'x-gatehouse-error'),
    cleared: setCookie(d?.headers ?? [], SESSION_COOKIE) === '',
  };
}

/** The identity error of the last decision logged (why a presented credential was refused). */
function lastIdentityError(logs: LogSink): unknown {
  return logs.lines.filter((l) => 'identity_error' in l).at(-1)?.['identity_error'];
}

function lines(logs: LogSink, msg: string): Record<string, unknown>[] {
  return logs.lines.filter((l) => l['msg'] === msg);
}

test('issue 15: re-validation with the IdP while the session lives', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const f = await fixture(t, opa);
  const clock = new TestClock();
  const withRefresh = await gatehouseFor(t, f, clock, WITH_REFRESH);
  const withoutRefresh = await gatehouseFor(t, f, clock, WITHOUT_REFRESH);

  await t.test(
    'refresh token: changed groups reach input.identity at the next re-validation, not before',
    async () => {
      const { client, logs } = withRefresh;
      const session = await signIn(client, 'alice');
      assert.equal(groupsAllowed(await visit(client, session)), '"admins", "staff"');
      f.idp.accounts.update('alice', { groups: ['staff'] });
      clock.skip(INTERVAL_S - 5);
      assert.equal(groupsAllowed(await visit(client, session)), '"admins", "staff"', 'not due');
      clock.skip(10);
      assert.equal(groupsAllowed(await visit(client, session)), '"staff"');
      assert.equal(groupsAllowed(await visit(client, session)), '"staff"', 'kept in the store');
      const revalidated = lines(logs, 'session re-validated');
      assert.deepEqual(
        revalidated.map((l) => [l['sub'], l['via']]),
        [['alice', 'refresh_token']],
      );
      f.idp.accounts.update('alice', { groups: ['admins', 'staff'] });
    },
  );

  await t.test(
    'refresh token: a user removed at the IdP loses access within one interval, revoked in the store with who and why',
    async () => {
      const { client, logs } = withRefresh;
      const session = await signIn(client, 'bob');
      assert.equal(groupsAllowed(await visit(client, session)), '"staff"');
      f.idp.accounts.remove('bob');
      clock.skip(INTERVAL_S + 1);
      const refused = denial(await visit(client, session));
      assert.equal(refused.status, 401);
      assert.equal(refused.cleared, true, 'the cookie is cleared');
      const revoked = lines(logs, 'sessions revoked').filter(
        (l) => l['by'] === 'identity provider',
      );
      assert.equal(revoked.length, 1, JSON.stringify(revoked));
      assert.match(String(revoked[0]?.['reason']), /refresh-token grant refused at re-validation/);
      assert.match(String(revoked[0]?.['reason']), /ERR_OIDC_REFRESH_FAILED/);
      // A copy of the cookie: the record is gone on every replica, not merely this browser's.
      assert.equal(denial(await visit(client, session)).status, 401);
      assert.equal(lastIdentityError(logs), 'ERR_SESSION_REVOKED');
    },
  );

  await t.test(
    'no refresh token: UserInfo with the stored access token updates groups, then refuses a removed user',
    async () => {
      const { client, logs } = withoutRefresh;
      f.idp.accounts.update('alice', { groups: ['admins', 'staff'] });
      const session = await signIn(client, 'alice');
      assert.equal(groupsAllowed(await visit(client, session)), '"admins", "staff"');
      f.idp.accounts.update('alice', { groups: ['auditors'] });
      clock.skip(INTERVAL_S + 1);
      assert.equal(groupsAllowed(await visit(client, session)), '"auditors"');
      assert.deepEqual(
        lines(logs, 'session re-validated').map((l) => l['via']),
        ['userinfo'],
      );
      f.idp.accounts.remove('alice');
      clock.skip(INTERVAL_S + 1);
      const refused = denial(await visit(client, session));
      assert.equal(refused.status, 401);
      assert.equal(refused.cleared, true);
      const revoked = lines(logs, 'sessions revoked').filter(
        (l) => l['by'] === 'identity provider',
      );
      assert.equal(revoked.length, 1, JSON.stringify(revoked));
      assert.match(String(revoked[0]?.['reason']), /UserInfo refused at re-validation/);
      assert.match(String(revoked[0]?.['reason']), /ERR_OIDC_USERINFO_FAILED/);
      assert.equal(denial(await visit(client, session)).status, 401);
      assert.equal(lastIdentityError(logs), 'ERR_SESSION_REVOKED');
    },
  );
});

test('issue 15: the IdP unreachable during re-validation: kept through the grace, then a 503 that keeps the cookie', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const f = await fixture(t, opa);
  const clock = new TestClock();
  const { client, logs } = await gatehouseFor(t, f, clock, WITH_REFRESH);
  const session = await signIn(client, 'alice');
  const removed = await signIn(client, 'bob');
  // bob is refused by the IdP first: no outage afterwards may bring his session back.
  f.idp.accounts.remove('bob');
  clock.skip(INTERVAL_S + 1);
  assert.equal(denial(await visit(client, removed)).status, 401);

  await f.proxy.close();
  assert.equal(groupsAllowed(await visit(client, session)), '"admins", "staff"', 'within grace');
  const deferred = lines(logs, 'session re-validation deferred: identity provider unavailable');
  assert.equal(deferred.length, 1);
  assert.equal(deferred[0]?.['code'], 'ERR_OIDC_UNAVAILABLE');
  assert.equal(denial(await visit(client, removed)).status, 401, 'never back');
  assert.equal(lastIdentityError(logs), 'ERR_SESSION_REVOKED');

  clock.skip(GRACE_S);
  const overdue = denial(await visit(client, session));
  assert.equal(overdue.status, 503);
  assert.equal(overdue.error, 'ERR_OIDC_UNAVAILABLE');
  assert.equal(overdue.cleared, false, 'the cookie is kept for when the IdP is back');
});

test('issue 15: re-validation is single-flight across two replicas on one Redis; no one is signed out', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const f = await fixture(t, opa);
  const clock = new TestClock();
  const store = { kind: 'redis', url: redis.url } as const;
  const a = await gatehouseFor(t, f, clock, WITH_REFRESH, store);
  const b = await gatehouseFor(t, f, clock, WITH_REFRESH, store);
  const session = await signIn(a.client, 'alice');
  assert.equal(groupsAllowed(await visit(b.client, session)), '"admins", "staff"');
  f.idp.accounts.update('alice', { groups: ['staff'] });
  clock.skip(INTERVAL_S + 1);
  // A slow IdP keeps the first replica's refresh grant open while the other one arrives.
  f.proxy.delayMs = 400;
  const answers = await Promise.all(
    Array.from({ length: 6 }, (_, i) => visit((i % 2 === 0 ? a : b).client, session)),
  );
  f.proxy.delayMs = 0;
  assert.deepEqual(answers.map(groupsAllowed), Array(6).fill('"staff"'));
  const asked = [
    ...lines(a.logs, 'session re-validated'),
    ...lines(b.logs, 'session re-validated'),
  ];
  assert.equal(asked.length, 1, 'one call to the IdP for both replicas');
});

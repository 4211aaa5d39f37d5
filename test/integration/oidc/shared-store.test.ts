/**
 * Two Gatehouse instances sharing one Redis session store (issue 15; one in this process, one
 * its own `gatehouse serve` process, so no in-process cache can stand in for the store): what one
 * instance consumed is consumed for the other. A hand-off token replayed at the second instance is refused, and a
 * back-channel logout token (oidc-provider's real one) replayed at the second instance is refused;
 * the logout reaching one instance revokes the sessions from that IdP session in the store, and
 * another store client (standing for a third replica) sees them revoked within 1 s.
 *
 * Real parts: Redis (redis-server), the demo IdP (oidc-provider), gRPC Check over real sockets.
 * Sessions are put in the store by the test: the session cookie does not carry a store handle yet.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { decodeJwt } from 'jose';
import { startIdp, type RunningIdp } from '../../../demo/idp/start.js';
import type { HeaderValueOption } from '../../../src/gen/envoy/config/core/v3/base_pb.js';
import type { CheckResponse } from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { generateKeyFiles } from '../../../src/keys/generate.js';
import { loadSessionSecret } from '../../../src/keys/session-secret.js';
import { RedisStore } from '../../../src/store/redis.js';
import { deriveStoreKeys } from '../../../src/store/seal.js';
import { type LogSink, startTestGatehouse } from '../../support/gatehouse.js';
import { connect, httpRequest, type TestClient } from '../../support/grpc-client.js';
import { browseToCallback, newJar } from '../../support/idp.js';
import { testdata } from '../../support/paths.js';
import { startRedis } from '../../support/redis.js';
import { createReplica } from '../../support/replicas.js';
import { requireTool } from '../../support/tools.js';
import { record, within } from '../store/support.js';

const CENTRAL = 'login.example.test';
const APP = 'app.example.test';
const CLIENT = { id: 'gatehouse', secret: 'gatehouse-shared-store-secret-0123456789' };
const TXN_COOKIE = '__Host-gatehouse-txn';
const SESSION_COOKIE = '__Host-gatehouse';
const NAV = { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };

function headersOf(res: CheckResponse): readonly HeaderValueOption[] {
  const r = res.httpResponse;
  if (r.case === 'deniedResponse') return r.value.headers;
  if (r.case === 'okResponse') return r.value.responseHeadersToAdd;
  return [];
}
function header(res: CheckResponse, name: string): string | undefined {
  return headersOf(res).find((h) => h.header?.key === name)?.header?.value;
}
function cookie(res: CheckResponse, name: string): string | undefined {
  for (const h of headersOf(res)) {
    if (h.header?.key !== 'set-cookie') continue;
    const [pair = ''] = h.header.value.split(';');
    const eq = pair.indexOf('=');
    if (pair.slice(0, eq) === name) return pair.slice(eq + 1);
  }
  return undefined;
}
function status(res: CheckResponse): number | undefined {
  return res.httpResponse.case === 'deniedResponse'
    ? res.httpResponse.value.status?.code
    : undefined;
}
function body(res: CheckResponse): string {
  return res.httpResponse.case === 'deniedResponse' ? res.httpResponse.value.body : '';
}

interface Instance {
  readonly client: TestClient;
  /** The log of the in-process instance (undefined for the other process). */
  readonly logs: LogSink | undefined;
}

/** A server that records the logout tokens the IdP POSTs (its back-channel logout URI). */
async function logoutCatcher(t: TestContext) {
  const tokens: string[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const token = new URLSearchParams(text).get('logout_token');
      if (token !== null) tokens.push(token);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/backchannel`, tokens };
}

/** Redis, the IdP, and two Gatehouse instances with the same keys, secret and store. */
async function setup(t: TestContext) {
  const opa = requireTool(t, 'opa');
  const redis = await startRedis(t);
  if (opa === undefined || redis === undefined) return undefined;
  const catcher = await logoutCatcher(t);
  const idp: RunningIdp = await startIdp({
    clients: [
      {
        client_id: CLIENT.id,
        client_secret: CLIENT.secret,
        redirect_uris: [`https://${CENTRAL}/.gatehouse/callback`],
        backchannel_logout_uri: catcher.url,
      },
    ],
  });
  t.after(() => idp.stop());
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-shared-store-'));
  const files = await generateKeyFiles(dir);
  const policyDir = mkdtempSync(join(dir, 'policy-'));
  copyFileSync(testdata('policies', 'allow-all', 'policy.rego'), join(policyDir, 'authz.rego'));
  const overrides = {
    development: true,
    keys: { signing: [files.signingKeyFile] },
    session: {
      secret: { file: files.sessionSecretFile },
      store: { kind: 'redis', url: redis.url },
    },
    identity: {
      issuer: idp.issuer,
      client_id: CLIENT.id,
      client_secret: CLIENT.secret,
      scopes: ['openid', 'email', 'profile', 'groups'],
      sign_in_host: CENTRAL,
      allowed_hosts: [APP],
    },
  };
  const policy = { dir: policyDir, opa, watch: false };
  // A in this process; B its own process (`gatehouse serve`), so nothing in-process is shared.
  const { gatehouse, logs } = await startTestGatehouse(policy, overrides);
  t.after(() => gatehouse.stop());
  const replicaB = await createReplica({ ...overrides, policy });
  await replicaB.start();
  t.after(() => replicaB.signal('SIGTERM'));
  const a: Instance = { client: connect(gatehouse.grpcPort), logs };
  const b: Instance = { client: connect(replicaB.grpcPort), logs: undefined };
  t.after(() => {
    a.client.close();
    b.client.close();
  });
  // Another client of the same store: a third replica's view.
  const { key } = await loadSessionSecret({ file: files.sessionSecretFile, development: false });
  const replica = await RedisStore.open({
    url: redis.url,
    keys: deriveStoreKeys(key),
    commandTimeoutMs: 2000,
  });
  t.after(() => replica.close());
  return { idp, a, b, replica, catcher };
}

/** Sign in on APP through the central host at instance `a`; the hand-off URL and its cookie. */
async function handOff(a: Instance, jar: ReturnType<typeof newJar>) {
  const check = (host: string, path: string, headers: Record<string, string>) =>
    a.client.check(httpRequest({ host, path, headers }));
  const start = await check(APP, '/.gatehouse/sign_in', NAV);
  const appTxn = cookie(start, TXN_COOKIE);
  const toCentral = new URL(header(start, 'location') ?? '');
  assert.equal(toCentral.host, CENTRAL, 'the protected host sends the browser to the central host');
  assert.ok(appTxn);
  const central = await check(CENTRAL, `${toCentral.pathname}${toCentral.search}`, NAV);
  const centralTxn = cookie(central, TXN_COOKIE);
  assert.ok(centralTxn);
  const back = await browseToCallback({
    authorizationUrl: header(central, 'location') ?? '',
    redirectUri: `https://${CENTRAL}/.gatehouse/callback`,
    username: 'alice',
    password: 'alice',
    jar,
  });
  const callback = await check(CENTRAL, `${back.pathname}${back.search}`, {
    ...NAV,
    cookie: `${TXN_COOKIE}=${centralTxn}`,
  });
  const handoff = new URL(header(callback, 'location') ?? '');
  assert.equal(handoff.host, APP, body(callback));
  return { path: `${handoff.pathname}${handoff.search}`, cookie: `${TXN_COOKIE}=${appTxn}` };
}

test('a hand-off token replayed at a second instance sharing the Redis store is refused', async (t) => {
  const s = await setup(t);
  if (s === undefined) return;
  const url = await handOff(s.a, newJar());
  const first = await s.a.client.check(
    httpRequest({ host: APP, path: url.path, headers: { ...NAV, cookie: url.cookie } }),
  );
  assert.ok(cookie(first, SESSION_COOKIE), `instance A accepts the hand-off: ${body(first)}`);

  const replayed = await s.b.client.check(
    httpRequest({ host: APP, path: url.path, headers: { ...NAV, cookie: url.cookie } }),
  );
  assert.equal(cookie(replayed, SESSION_COOKIE), undefined, 'no session from a replay');
  assert.match(body(replayed), /ERR_HANDOFF_REPLAYED/);
});

test('a back-channel logout reaching one instance revokes in the store; replayed at the other it is refused', async (t) => {
  const s = await setup(t);
  if (s === undefined) return;
  const jar = newJar();
  const url = await handOff(s.a, jar);
  await s.a.client.check(
    httpRequest({ host: APP, path: url.path, headers: { ...NAV, cookie: url.cookie } }),
  );

  // End the session at the IdP: it POSTs its logout token (caught, then delivered by the test).
  const page = await fetch(`${s.idp.issuer}/session/end?client_id=${CLIENT.id}`, {
    headers: { cookie: jar.header(), accept: 'text/html' },
  });
  jar.store(page);
  const html = await page.text();
  const action = /<form[^>]*\baction="([^"]+)"/i.exec(html)?.[1];
  assert.ok(action !== undefined, html.slice(0, 300));
  const form = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g))
    form.append(m[1] ?? '', m[2] ?? '');
  await fetch(new URL(action.replace(/&amp;/g, '&'), s.idp.issuer), {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  assert.ok(await within(5000, () => s.catcher.tokens.length > 0), 'the IdP sent a logout token');
  const token = s.catcher.tokens[0] as string;
  const claims = decodeJwt(token);
  assert.equal(typeof claims['sid'], 'string');

  // Sessions in the store besides the one signed in above: two more from this IdP session, one
  // from another, one of another user.
  const idp = { iss: String(claims.iss), sid: String(claims['sid']) };
  const mine = [
    { ...record('alice'), idp },
    { ...record('alice'), idp },
  ];
  const elsewhere = { ...record('alice'), idp: { ...idp, sid: 'another-idp-session' } };
  const bob = record('bob');
  for (const r of [...mine, elsewhere, bob]) assert.ok(await s.replica.create(r));
  const revoked = new Set<string>();
  s.replica.subscribe((c) => {
    if (c.kind === 'revoked') revoked.add(c.sid);
  });

  const post = (to: Instance) =>
    to.client.check(
      httpRequest({
        method: 'POST',
        host: APP,
        path: '/.gatehouse/backchannel_logout',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: token }).toString(),
      }),
    );
  const first = await post(s.a);
  assert.equal(status(first), 200, body(first));
  assert.ok(
    await within(1000, () => mine.every((r) => revoked.has(r.sid))),
    'the other store client sees both revoked within 1 s',
  );
  for (const r of mine) assert.equal(await s.replica.get(r.sid), undefined);
  assert.ok(await s.replica.get(elsewhere.sid), "alice's other IdP session stays");
  assert.ok(await s.replica.get(bob.sid));
  const line = s.a.logs?.lines.find((l) => l['msg'] === 'sessions revoked');
  // The session the hand-off signed in (a record of its own in the store) and the two above.
  assert.equal(line?.['count'], 3);
  assert.equal(line?.['by'], 'identity provider');

  const replayed = await post(s.b);
  assert.equal(status(replayed), 400, body(replayed));
  assert.match(body(replayed), /already used/);
});

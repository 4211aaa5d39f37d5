/**
 * OIDC Back-Channel Logout 1.0 end to end: the real demo IdP (oidc-provider with its
 * `backchannelLogout` feature) POSTs its logout token through the real Envoy (ext_authz with
 * `with_request_body`, envoy/front-proxy.yaml) to Gatehouse's reserved path, which validates it
 * and revokes the session: a copy of the session cookie taken before is refused afterwards.
 * Sign-in is driven without a browser (test/support/idp.ts).
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { startIdp, type RunningIdp } from '../../../demo/idp/start.js';
import { startEnvoy, type RunningEnvoy } from '../../support/envoy.js';
import { type LogSink, startTestGatehouse } from '../../support/gatehouse.js';
import { browseToCallback, newJar } from '../../support/idp.js';
import { testdata } from '../../support/paths.js';
import { freePort } from '../../support/ports.js';
import { requireTool } from '../../support/tools.js';
import { startUpstream } from '../../support/upstream.js';

const CLIENT = { id: 'gatehouse', secret: 'gatehouse-backchannel-test-secret' };
const SESSION_COOKIE = '__Host-gatehouse';
const TXN_COOKIE = '__Host-gatehouse-txn';

interface Stack {
  readonly origin: string;
  readonly idp: RunningIdp;
  readonly envoy: RunningEnvoy;
  readonly logs: LogSink;
}

async function startStack(t: TestContext): Promise<Stack | undefined> {
  const envoyBin = requireTool(t, 'envoy');
  const opa = requireTool(t, 'opa');
  if (envoyBin === undefined || opa === undefined) return undefined;
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const idp = await startIdp({
    clients: [
      {
        client_id: CLIENT.id,
        client_secret: CLIENT.secret,
        redirect_uris: [`${origin}/.gatehouse/callback`],
        post_logout_redirect_uris: [`${origin}/.gatehouse/signed_out`],
        backchannel_logout_uri: `${origin}/.gatehouse/backchannel_logout`,
      },
    ],
  });
  t.after(() => idp.stop());
  const policyDir = await mkdtemp(join(tmpdir(), 'gatehouse-backchannel-policy-'));
  t.after(() => rm(policyDir, { recursive: true, force: true }));
  await copyFile(testdata('policies', 'allow-all', 'policy.rego'), join(policyDir, 'authz.rego'));
  const { gatehouse, logs } = await startTestGatehouse(
    { dir: policyDir, opa, watch: false },
    {
      development: true,
      identity: {
        issuer: idp.issuer,
        client_id: CLIENT.id,
        client_secret: CLIENT.secret,
        scopes: ['openid', 'email', 'profile', 'groups'],
      },
    },
  );
  t.after(() => gatehouse.stop());
  const readyBy = Date.now() + 20_000;
  while (!gatehouse.readiness().ready) {
    if (Date.now() > readyBy) throw new Error('Gatehouse not ready after 20 s');
    await sleep(50);
  }
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const envoy = await startEnvoy({
    bin: envoyBin,
    gatehousePort: gatehouse.grpcPort,
    upstreams: { app: upstream.port, admin: upstream.port },
    listenPort: port,
  });
  t.after(() => envoy.stop());
  return { origin, idp, envoy, logs };
}

/** The value of cookie `name` in a response's Set-Cookie lines. */
function setCookie(response: Response, name: string): string | undefined {
  for (const line of response.headers.getSetCookie()) {
    const pair = line.split(';', 1)[0] ?? '';
    if (pair.startsWith(`${name}=`)) return pair.slice(name.length + 1);
  }
  return undefined;
}

/** Sign in through Envoy as `user`; the session cookie's value and the IdP's cookie jar. */
async function signIn(stack: Stack, user: string) {
  const start = await fetch(`${stack.origin}/.gatehouse/sign_in`, {
    redirect: 'manual',
    headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-site': 'none' },
  });
  assert.equal(start.status, 302);
  const txn = setCookie(start, TXN_COOKIE);
  assert.ok(txn !== undefined, 'the sign-in sets the transaction cookie');
  const jar = newJar();
  const callback = await browseToCallback({
    authorizationUrl: start.headers.get('location') ?? '',
    redirectUri: `${stack.origin}/.gatehouse/callback`,
    username: user,
    password: user,
    jar,
  });
  const done = await fetch(callback, {
    redirect: 'manual',
    headers: { cookie: `${TXN_COOKIE}=${txn}`, accept: 'text/html' },
  });
  assert.equal(done.status, 302, await done.text());
  const session = setCookie(done, SESSION_COOKIE);
  assert.ok(session !== undefined, 'the callback sets the session cookie');
  return { session, jar };
}

async function whoami(stack: Stack, session: string): Promise<number> {
  const response = await fetch(`${stack.origin}/.gatehouse/`, {
    headers: { cookie: `${SESSION_COOKIE}=${session}`, accept: 'application/json' },
  });
  await response.arrayBuffer();
  return response.status;
}

/** End the user's session at the IdP: its end-session page, then its confirmation form. */
async function signOutAtIdp(stack: Stack, jar: ReturnType<typeof newJar>): Promise<void> {
  const page = await fetch(`${stack.idp.issuer}/session/end?client_id=${CLIENT.id}`, {
    headers: { cookie: jar.header(), accept: 'text/html' },
  });
  jar.store(page);
  const html = await page.text();
  assert.equal(page.status, 200, html.slice(0, 300));
  const action = /<form[^>]*\baction="([^"]+)"/i.exec(html)?.[1];
  assert.ok(action !== undefined, 'the IdP shows its sign-out form');
  const form = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g))
    form.append(m[1] ?? '', m[2] ?? '');
  const confirm = await fetch(new URL(action.replace(/&amp;/g, '&'), stack.idp.issuer), {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  await confirm.arrayBuffer();
  assert.ok(confirm.status < 400, `the IdP's sign-out confirmation answered ${confirm.status}`);
}

test("signing out at oidc-provider revokes the Gatehouse session through Envoy's ext_authz", async (t) => {
  const stack = await startStack(t);
  if (stack === undefined) return;
  const alice = await signIn(stack, 'alice');
  const bob = await signIn(stack, 'bob');
  // Alice on another device: another session at the IdP, with its own sid.
  const aliceElsewhere = await signIn(stack, 'alice');
  assert.equal(await whoami(stack, alice.session), 200, 'alice is signed in');
  assert.equal(await whoami(stack, aliceElsewhere.session), 200);
  assert.equal(await whoami(stack, bob.session), 200, 'bob is signed in');

  await signOutAtIdp(stack, alice.jar);

  // oidc-provider awaits the back-channel POST before answering the confirmation.
  const revoked = stack.logs.lines.find((l) => l['msg'] === 'sessions revoked');
  assert.ok(revoked !== undefined, 'Gatehouse received, validated and applied the logout token');
  assert.equal(revoked['sub'], 'alice');
  assert.equal(typeof revoked['sid'], 'string', 'backchannel_logout_session_required: sid sent');
  assert.equal(revoked['reason'], 'backchannel_logout');
  assert.equal(await whoami(stack, alice.session), 401, "alice's copied cookie no longer works");
  assert.equal(await whoami(stack, bob.session), 200, "bob's session is untouched");
  assert.equal(
    await whoami(stack, aliceElsewhere.session),
    200,
    "alice's other IdP session (another sid) is untouched: the token's sid decided",
  );
  const denial = stack.logs.lines.find(
    (l) => JSON.stringify(l).includes('ERR_SESSION_REVOKED') && l['msg'] !== 'sessions revoked',
  );
  assert.ok(denial !== undefined, 'the refusal is logged with ERR_SESSION_REVOKED');

  // Alice signs in again (a new session at the IdP): the revocation does not reach it.
  await sleep(1100); // auth_time has second granularity: the new sign-in is strictly later
  const again = await signIn(stack, 'alice');
  assert.equal(await whoami(stack, again.session), 200);
});

test('the endpoint refuses what is not a valid logout token, with JSON and no-store', async (t) => {
  const stack = await startStack(t);
  if (stack === undefined) return;
  const url = `${stack.origin}/.gatehouse/backchannel_logout`;
  const form = { 'content-type': 'application/x-www-form-urlencoded' };

  const forged = await fetch(url, {
    method: 'POST',
    headers: form,
    body: new URLSearchParams({ logout_token: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.' }),
  });
  assert.equal(forged.status, 400);
  assert.equal(forged.headers.get('cache-control'), 'no-store');
  assert.match(forged.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(((await forged.json()) as { error?: string }).error, 'invalid_request');

  const missing = await fetch(url, { method: 'POST', headers: form, body: 'other=1' });
  assert.equal(missing.status, 400);
  await missing.arrayBuffer();

  const get = await fetch(url);
  assert.equal(get.status, 405);
  assert.equal(get.headers.get('allow'), 'POST');
  await get.arrayBuffer();
});

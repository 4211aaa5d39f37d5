/**
 * The sign-in flow's typed events reach metrics and the log (issue 14): after a real sign-in, a
 * refresh (good, refused, and without a refresh token), a failed callback and a sign-out, the
 * Prometheus registry holds exactly those counts, and the log lines operators know are written.
 *
 * A real gRPC client over a real socket against an in-process Gatehouse whose identity is the
 * real demo IdP (oidc-provider on loopback), driven without a browser (test/support/idp.ts).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startIdp } from '../../../demo/idp/start.js';
import type { HeaderValueOption } from '../../../src/gen/envoy/config/core/v3/base_pb.js';
import type { CheckResponse } from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { startTestGatehouse } from '../../support/gatehouse.js';
import { connect, httpRequest } from '../../support/grpc-client.js';
import { browseToCallback } from '../../support/idp.js';
import { testdata } from '../../support/paths.js';
import { requireTool } from '../../support/tools.js';
import { get, sample } from '../ops/support.js';

const HOST = 'app.example.test';
const ORIGIN = `https://${HOST}`;
const REDIRECT_URI = `${ORIGIN}/.gatehouse/callback`;
const CLIENT_ID = 'gatehouse';
const CLIENT_SECRET = 'gatehouse-events-test-secret-0123456789';
const SESSION_COOKIE = '__Host-gatehouse';
const TXN_COOKIE = '__Host-gatehouse-txn';
const NAV = { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
const JSON_ACCEPT = { accept: 'application/json' };

function headersOf(res: CheckResponse): readonly HeaderValueOption[] {
  const r = res.httpResponse;
  if (r.case === 'deniedResponse') return r.value.headers;
  if (r.case === 'okResponse') return r.value.responseHeadersToAdd;
  return [];
}

function header(res: CheckResponse, name: string): string | undefined {
  return headersOf(res).find((h) => h.header?.key === name)?.header?.value;
}

/** The value a `set-cookie` gives `name`, when the response sets it. */
function cookie(res: CheckResponse, name: string): string | undefined {
  for (const h of headersOf(res)) {
    if (h.header?.key !== 'set-cookie') continue;
    const [pair = ''] = h.header.value.split(';');
    const eq = pair.indexOf('=');
    if (pair.slice(0, eq) === name) return pair.slice(eq + 1);
  }
  return undefined;
}

test('sign-in events: the registry counts a real sign-in, refreshes, a failed callback and a sign-out', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const idp = await startIdp({
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [REDIRECT_URI],
        post_logout_redirect_uris: [`${ORIGIN}/.gatehouse/signed_out`],
      },
    ],
  });
  t.after(() => idp.stop());
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-events-'));
  const policyDir = mkdtempSync(join(dir, 'policy-'));
  copyFileSync(testdata('identity', 'authz.rego'), join(policyDir, 'authz.rego'));
  const { gatehouse, logs } = await startTestGatehouse(
    { dir: policyDir, opa, watch: false },
    {
      development: true,
      identity: {
        issuer: idp.issuer,
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
      },
    },
  );
  t.after(() => gatehouse.stop());
  const client = connect(gatehouse.grpcPort);
  t.after(() => client.close());
  const check = (path: string, headers: Record<string, string>, method = 'GET') =>
    client.check(httpRequest({ method, path, host: HOST, headers }));
  const metrics = async () => (await get(gatehouse.httpPort, '/metrics')).text;

  // Sign-in started twice: a browser denied while signed out, and /.gatehouse/sign_in.
  const denied = await check('/app/x', NAV);
  assert.equal(header(denied, 'location')?.startsWith(`${idp.issuer}/auth`), true);
  const start = await check('/.gatehouse/sign_in', NAV);
  const location = header(start, 'location');
  const txn = cookie(start, TXN_COOKIE);
  assert.ok(location !== undefined && txn !== undefined, 'sign-in redirects with its transaction');

  // A real sign-in: the IdP's login form, then the callback through the Check path.
  const back = await browseToCallback({
    authorizationUrl: location,
    redirectUri: REDIRECT_URI,
    username: 'alice',
    password: 'alice',
  });
  const callback = await check(`${back.pathname}${back.search}`, {
    ...NAV,
    cookie: `${TXN_COOKIE}=${txn}`,
  });
  const session = cookie(callback, SESSION_COOKIE);
  assert.ok(session, 'the callback set a session');

  // A failed callback: no transaction cookie.
  await check('/.gatehouse/callback?code=x&state=y', NAV);

  // Refreshes: the signed-in session's real refresh token (renewed), a bogus one (refused), and
  // none at all — each in a session minted already expired, with a session id of its own (refresh
  // outcomes are shared per session id).
  const sessions = gatehouse.sessions;
  assert.ok(sessions, 'identity is configured');
  const live = await sessions.verify(session);
  assert.ok(live.refresh_token, 'the IdP gave a refresh token (offline_access)');
  const expired = async (refreshToken: string | undefined) =>
    (
      await sessions.issue(
        {
          sub: live.sub,
          email: live.email,
          email_verified: live.email_verified,
          name: live.name,
          groups: live.groups,
          idp_iss: live.idp_iss,
          claims: {},
          host: HOST,
          ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }),
        },
        { now: Date.now() - 9 * 3600_000 },
      )
    ).cookieValue;
  const renewed = await check('/app/x', {
    ...JSON_ACCEPT,
    cookie: `${SESSION_COOKIE}=${await expired(live.refresh_token)}`,
  });
  assert.equal(renewed.httpResponse.case, 'okResponse', 'the refreshed session is allowed');
  for (const token of ['bogus-refresh-token', undefined]) {
    const res = await check('/app/x', {
      ...JSON_ACCEPT,
      cookie: `${SESSION_COOKIE}=${await expired(token)}`,
    });
    assert.equal(res.httpResponse.case, 'deniedResponse');
  }

  // A sign-out POST from the site itself, with the session: the IdP's end-session endpoint.
  const signOut = await check(
    '/.gatehouse/sign_out',
    {
      ...NAV,
      origin: ORIGIN,
      'sec-fetch-site': 'same-origin',
      'content-type': 'application/x-www-form-urlencoded',
      cookie: `${SESSION_COOKIE}=${session}`,
    },
    'POST',
  );
  assert.equal(
    signOut.httpResponse.case === 'deniedResponse' ? signOut.httpResponse.value.status?.code : 0,
    303,
  );

  const text = await metrics();
  const signIns = (stage: string, reason: string) =>
    sample(text, 'gatehouse_sign_ins_total', { stage, reason });
  assert.equal(signIns('started', 'unauthenticated'), 1);
  assert.equal(signIns('started', 'sign_in_path'), 1);
  assert.equal(signIns('completed', 'session_issued'), 1);
  assert.equal(signIns('failed', 'ERR_OIDC_TXN_MISSING'), 1);
  const refreshes = (result: string) =>
    sample(text, 'gatehouse_session_refreshes_total', { result });
  assert.equal(refreshes('success'), 1);
  assert.equal(refreshes('failure'), 1);
  assert.equal(refreshes('no_refresh_token'), 1);
  assert.equal(sample(text, 'gatehouse_sign_outs_total', { idp: 'true' }), 1);

  // The log subscriber writes the lines operators know, with their fields.
  const line = (msg: string) => logs.lines.filter((l) => l['msg'] === msg);
  assert.equal(line('sign-in completed').length, 1);
  assert.equal(line('sign-in completed')[0]?.['sub'], 'alice');
  assert.equal(line('sign-in completed')[0]?.['host'], HOST);
  assert.equal(line('sign-in failed')[0]?.['code'], 'ERR_OIDC_TXN_MISSING');
  assert.equal(line('session refreshed').length, 1);
  assert.equal(line('session refresh failed; signing in again').length, 1);
  assert.equal(line('signed out')[0]?.['idp_logout'], true);
  assert.equal(line('signed out')[0]?.['sub'], 'alice');
});

/**
 * What an operator sees for Gatehouse's own paths and its sign-in machinery (issue 11, point 10):
 * who-am-I, sign-in, callback, sign-out and signed-out are counted and logged as `reserved`, never
 * as `denied` (they would inflate deny alerts with every sign-in); the last reload's outcome and
 * time and the IdP's discovery state are gauges; sign-outs are counted; sign-in lines carry the
 * request id and host; 401 and 403 bodies have one shape, a refused token's with a reason in words.
 *
 * A real gRPC client over a real socket against an in-process Gatehouse whose identity is the real
 * demo IdP (oidc-provider on loopback).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startIdp } from '../../../demo/idp/start.js';
import type { CheckResponse } from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { startTestGatehouse } from '../../support/gatehouse.js';
import { connect, httpRequest } from '../../support/grpc-client.js';
import { requireTool } from '../../support/tools.js';
import { get, policyDir, sample, until } from './support.js';

const HOST = 'app.example.test';
const NAV = { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
const JSON_ACCEPT = { accept: 'application/json' };

function body(res: CheckResponse): Record<string, unknown> {
  assert.equal(res.httpResponse.case, 'deniedResponse');
  return JSON.parse(res.httpResponse.value.body) as Record<string, unknown>;
}

test('reserved paths are counted and logged as reserved, not denied; reload, IdP and sign-out gauges and counters; one 401/403 body shape', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const idp = await startIdp({
    clients: [
      {
        client_id: 'gatehouse',
        client_secret: 'counts-secret',
        redirect_uris: [`https://${HOST}/.gatehouse/callback`],
        post_logout_redirect_uris: [`https://${HOST}/.gatehouse/signed_out`],
      },
    ],
  });
  t.after(() => idp.stop());
  const dir = policyDir(`package envoy.authz

import rego.v1

default allow := {"allowed": false, "reasons": ["staff only"]}

allow := {"allowed": true} if input.parsed_path[0] == "public"
`);
  const { gatehouse, logs } = await startTestGatehouse(
    { dir, opa, watch: false },
    {
      development: true,
      identity: {
        issuer: idp.issuer,
        client_id: 'gatehouse',
        client_secret: 'counts-secret',
        bearer: { audiences: [`https://${HOST}/api`] },
      },
    },
  );
  t.after(() => gatehouse.stop());
  const client = connect(gatehouse.grpcPort);
  t.after(() => client.close());
  const metrics = async () => (await get(gatehouse.httpPort, '/metrics')).text;

  // Gauges: the start's load succeeded, just now; the IdP is discovered (warm-up at start).
  await until(
    async () =>
      sample(await metrics(), 'gatehouse_identity_provider_ready', { issuer: idp.issuer }) === 1,
    15_000,
    'IdP discovered',
  );
  const text = await metrics();
  assert.equal(sample(text, 'gatehouse_policy_last_reload_success'), 1);
  const loadedAt = sample(text, 'gatehouse_policy_last_reload_timestamp_seconds') ?? 0;
  assert.ok(Math.abs(loadedAt - Date.now() / 1000) < 600, `reload time ${loadedAt}`);

  const check = (path: string, headers: Record<string, string>, method = 'GET') =>
    client.check(
      httpRequest({
        method,
        path,
        host: HOST,
        headers: { ...headers, 'x-request-id': `req-${method}-${path}` },
      }),
    );

  // Reserved: who am I (anonymous API client: 401), signed out, the sign-out confirmation page,
  // a callback without its transaction (error page), the sign-in path (302 to the IdP), JWKS.
  await check('/.gatehouse/', JSON_ACCEPT);
  await check('/.gatehouse/signed_out', NAV);
  await check('/.gatehouse/sign_out', NAV);
  await check('/.gatehouse/callback?code=x&state=y', NAV);
  await check('/.gatehouse/sign_in', NAV);
  await check('/.well-known/gatehouse/jwks.json', JSON_ACCEPT);
  // A sign-out POST from the site itself: the session ends (none here), counted as a sign-out.
  const signOut = await check(
    '/.gatehouse/sign_out',
    {
      ...NAV,
      origin: `https://${HOST}`,
      'sec-fetch-site': 'same-origin',
      'content-type': 'application/x-www-form-urlencoded',
    },
    'POST',
  );
  assert.equal(
    signOut.httpResponse.case === 'deniedResponse' ? signOut.httpResponse.value.status?.code : 0,
    303,
  );
  // One real denial and one allow.
  const apiDeny = await check('/private', JSON_ACCEPT);
  await check('/public/x', JSON_ACCEPT);

  const after = await metrics();
  const total = (result: string) => {
    let sum = 0;
    for (const status of ['200', '302', '303', '400', '401', '403', '404', '500', '503'])
      sum += sample(after, 'gatehouse_decisions_total', { result, status, route: '' }) ?? 0;
    return sum;
  };
  assert.equal(
    total('reserved'),
    7,
    'who am I, signed out, sign-out page and POST, callback, sign-in, JWKS',
  );
  assert.equal(total('denied'), 1, 'only /private is a denial');
  assert.equal(
    sample(after, 'gatehouse_decisions_total', { result: 'denied', status: '401', route: '' }),
    1,
  );
  assert.equal(total('allowed'), 1);
  assert.equal(
    sample(after, 'gatehouse_sign_outs_total', { idp: 'true' }),
    1,
    'the sign-out used the IdP end-session endpoint',
  );

  // The decision log says the same: result "reserved" for each reserved path, "denied" once.
  const decisions = logs.lines.filter((l) => l['msg'] === 'check');
  assert.deepEqual(
    decisions.filter((l) => l['result'] === 'denied').map((l) => l['path']),
    ['/private'],
  );
  assert.equal(decisions.filter((l) => l['result'] === 'reserved').length, 7);

  // Sign-in machinery lines carry the request id and host of the request they are about.
  const failed = logs.lines.find((l) => l['msg'] === 'sign-in failed');
  assert.equal(failed?.['request_id'], 'req-GET-/.gatehouse/callback?code=x&state=y');
  assert.equal(failed?.['host'], HOST);
  const signedOut = logs.lines.find((l) => l['msg'] === 'signed out');
  assert.equal(signedOut?.['request_id'], 'req-POST-/.gatehouse/sign_out');
  assert.equal(signedOut?.['host'], HOST);

  // One body shape for 401 and 403: error, message, reasons, request_id.
  const anonymous = body(apiDeny);
  assert.deepEqual(Object.keys(anonymous).sort(), ['error', 'message', 'reasons', 'request_id']);
  assert.equal(anonymous['error'], 'ERR_UNAUTHENTICATED');
  assert.deepEqual(anonymous['reasons'], [], "the policy's reasons are for signed-in callers only");
  const refused = body(
    await check('/private', { ...JSON_ACCEPT, authorization: 'Bearer not-a-jwt' }),
  );
  assert.deepEqual(Object.keys(refused).sort(), ['error', 'message', 'reasons', 'request_id']);
  assert.equal(refused['error'], 'ERR_TOKEN_INVALID');
  assert.equal(refused['message'], 'The bearer token is not valid. Authentication required.');
});

test('a refused policy reload sets the last-reload gauges to failure, with its time; the old policy keeps serving', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const dir = policyDir();
  const { gatehouse } = await startTestGatehouse({ dir, opa, watch: false });
  t.after(() => gatehouse.stop());
  const before = Date.now() / 1000;
  writeFileSync(join(dir, 'authz.rego'), 'package envoy.authz\n\nallow if {\n');
  await gatehouse.reload();
  const text = (await get(gatehouse.httpPort, '/metrics')).text;
  assert.equal(sample(text, 'gatehouse_policy_last_reload_success'), 0);
  assert.ok(
    (sample(text, 'gatehouse_policy_last_reload_timestamp_seconds') ?? 0) >= Math.floor(before),
  );
  assert.equal(sample(text, 'gatehouse_policy_reloads_total', { result: 'failure' }), 1);
  assert.doesNotMatch(text, /^gatehouse_identity_provider_ready/m, 'no identity, no series');
});

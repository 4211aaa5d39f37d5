/**
 * Issue 18: a session bound to the device certificate it signed in with
 * (`device.certificate.bind_sessions`, docs/devices.md), through a real Envoy doing downstream
 * mutual TLS (envoy/front-proxy.yaml with a TLS transport socket) and the real demo IdP: the
 * sign-in callback itself reaches Gatehouse through ext_authz with certificate A, so the session
 * records A; the cookie then works with A and is refused with no certificate and with B (same CA).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DeviceCa, type DeviceCert } from '../support/device-certs.js';
import { startEnvoy } from '../support/envoy.js';
import { startTestGatehouse } from '../support/gatehouse.js';
import {
  browseToCallback,
  startTestIdp,
  TEST_CLIENT_ID,
  TEST_CLIENT_SECRET,
  TEST_HOST,
  TEST_REDIRECT_URI,
} from '../support/idp.js';
import { requireTool } from '../support/tools.js';
import { startUpstream } from '../support/upstream.js';

const NAV = {
  accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-site': 'none',
  'sec-fetch-dest': 'document',
};
const API = { accept: 'application/json' };

const POLICY = `package envoy.authz

import rego.v1

default allow := false

allow := {"allowed": true, "headers": {"x-session-bound": sprintf("%v", [input.device.session_bound])}} if {
	input.identity.authenticated
	input.parsed_path[0] == "app"
}
`;

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One HTTPS request to Envoy as host {@link TEST_HOST}, with a client certificate or without. */
function send(
  port: number,
  ca: string,
  path: string,
  client: DeviceCert | undefined,
  headers: Record<string, string>,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        servername: TEST_HOST,
        ca,
        headers: { host: TEST_HOST, ...headers },
        ...(client === undefined
          ? {}
          : { cert: client.pem, key: readFileSync(client.key, 'utf8') }),
        agent: false,
        timeout: 20_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer for ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

/** `name=value` of the first set-cookie whose name is `name`, if any. */
function cookie(reply: Reply, name: string): string | undefined {
  return (reply.headers['set-cookie'] ?? [])
    .map((c) => c.split(';')[0] ?? '')
    .find((c) => c.startsWith(`${name}=`));
}

/** Every object in a parsed config, depth first. */
function* objects(value: unknown): Generator<Record<string, unknown>> {
  if (value === null || typeof value !== 'object') return;
  if (!Array.isArray(value)) yield value as Record<string, unknown>;
  for (const v of Object.values(value)) yield* objects(v);
}

test('a session bound to client certificate A: the cookie works with A, not without a certificate, not with B', async (t) => {
  const envoyBin = requireTool(t, 'envoy');
  const opa = requireTool(t, 'opa');
  if (envoyBin === undefined || opa === undefined) return;

  const company = new DeviceCa('Acme');
  const server = company.issue({
    subject: `/CN=${TEST_HOST}`,
    sans: [`DNS:${TEST_HOST}`],
    eku: 'serverAuth',
  });
  const deviceA = company.issue({ subject: '/O=Acme/CN=laptop-a' });
  const deviceB = company.issue({ subject: '/O=Acme/CN=laptop-b' });

  const idp = await startTestIdp();
  t.after(() => idp.stop());
  const policyDir = mkdtempSync(join(tmpdir(), 'gatehouse-device-binding-policy-'));
  writeFileSync(join(policyDir, 'authz.rego'), POLICY);
  const app = await startUpstream();
  t.after(() => app.close());
  const { gatehouse, logs } = await startTestGatehouse(
    { dir: policyDir, opa, watch: false },
    {
      development: true,
      identity: {
        issuer: idp.idp.issuer,
        client_id: TEST_CLIENT_ID,
        client_secret: TEST_CLIENT_SECRET,
        scopes: ['openid', 'email', 'profile', 'groups'],
      },
      device: { certificate: { ca_file: company.cert, bind_sessions: true } },
    },
  );
  t.after(() => gatehouse.stop());
  const envoy = await startEnvoy({
    bin: envoyBin,
    gatehousePort: gatehouse.grpcPort,
    upstreams: { app: app.port, admin: app.port },
    patch: (config) => {
      // A shared, loaded test machine: give the Check more than the shipped 0.5 s (the callback
      // exchanges the code at the IdP inside it).
      let patched = 0;
      for (const o of objects(config))
        if (o['envoy_grpc'] !== undefined && o['timeout'] === '0.5s') {
          o['timeout'] = '10s';
          patched++;
        }
      assert.equal(patched, 1, 'the ext_authz grpc_service timeout');
      const resources = config['static_resources'] as { listeners: Record<string, unknown>[] };
      const listener = resources.listeners[0];
      assert.ok(listener !== undefined);
      const chain = (listener['filter_chains'] as Record<string, unknown>[])[0];
      assert.ok(chain !== undefined);
      chain['transport_socket'] = {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type':
            'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
          require_client_certificate: false,
          common_tls_context: {
            tls_certificates: [
              {
                certificate_chain: { filename: server.cert },
                private_key: { filename: server.key },
              },
            ],
            validation_context: { trusted_ca: { filename: company.cert } },
          },
        },
      };
    },
  });
  t.after(() => envoy.stop());
  const ca = company.pem;

  /** Sign in as alice through Envoy, every request with `device`; the session cookie. */
  async function signIn(device: DeviceCert | undefined): Promise<string> {
    const start = await send(envoy.port, ca, '/app/x', device, NAV);
    assert.equal(start.status, 302, `sign-in starts: ${start.body.slice(0, 300)}`);
    const txn = cookie(start, '__Host-gatehouse-txn');
    assert.ok(txn, 'transaction cookie');
    const callback = await browseToCallback({
      authorizationUrl: String(start.headers['location']),
      redirectUri: TEST_REDIRECT_URI,
      username: 'alice',
      password: 'alice',
    });
    const done = await send(envoy.port, ca, `${callback.pathname}${callback.search}`, device, {
      ...NAV,
      'sec-fetch-site': 'cross-site',
      cookie: txn,
    });
    assert.equal(done.status, 302, `callback: ${done.body.slice(0, 300)}`);
    const session = cookie(done, '__Host-gatehouse');
    assert.ok(session, `session cookie in ${JSON.stringify(done.headers['set-cookie'])}`);
    return session;
  }
  const bound = (reply: Reply) =>
    (JSON.parse(reply.body) as { headers: IncomingHttpHeaders }).headers['x-session-bound'];

  // Signed in with A: the cookie works with A, and the policy sees the binding.
  const session = await signIn(deviceA);
  const withA = await send(envoy.port, ca, '/app/x', deviceA, { ...API, cookie: session });
  assert.equal(withA.status, 200, withA.body);
  assert.equal(bound(withA), 'true');

  // The same cookie with no certificate, or with B from the same CA: refused, cookie not cleared.
  const before = app.requests.length;
  for (const [what, device] of [
    ['no certificate', undefined],
    ['certificate B', deviceB],
  ] as const) {
    const refused = await send(envoy.port, ca, '/app/x', device, { ...API, cookie: session });
    assert.equal(refused.status, 401, `${what}: ${refused.body}`);
    assert.equal(cookie(refused, '__Host-gatehouse'), undefined, `${what}: cookie not cleared`);
  }
  assert.equal(app.requests.length, before, 'a refused request reached the upstream');
  const warnings = logs.lines.filter(
    (l) => l['msg'] === 'session refused: bound to another device certificate',
  );
  assert.equal(warnings.length, 2, JSON.stringify(logs.lines.slice(-5)));
  // A browser with the copied cookie is sent to sign in, not let through.
  const nav = await send(envoy.port, ca, '/app/x', deviceB, { ...NAV, cookie: session });
  assert.equal(nav.status, 302);
  assert.ok(String(nav.headers['location']).startsWith(idp.idp.issuer));
  // And A still works afterwards.
  assert.equal(
    (await send(envoy.port, ca, '/app/x', deviceA, { ...API, cookie: session })).status,
    200,
  );

  // Signed in without a certificate: an unbound session, usable anywhere; the policy sees it.
  const unbound = await signIn(undefined);
  for (const device of [undefined, deviceA, deviceB]) {
    const reply = await send(envoy.port, ca, '/app/x', device, { ...API, cookie: unbound });
    assert.equal(reply.status, 200, reply.body);
    if (device !== undefined) assert.equal(bound(reply), 'false');
  }
});

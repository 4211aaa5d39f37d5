/**
 * Issue 12 through the real Envoy running the shipped envoy/front-proxy.yaml: what got through
 * an attack run must not get through again.
 *
 * - Point 5: paths that are not in normal form, in every encoding family, sent byte for byte. No
 *   request the upstream receives may be outside normal form, and none may leave /public.
 * - Point 2: two `Cookie` lines (Envoy joins them with `,` for ext_authz): Gatehouse's session
 *   cookie must never reach the upstream, however the lines are split or ordered.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { exportPKCS8, generateKeyPair } from 'jose';
import { startIdp } from '../../demo/idp/start.js';
import { pathFormProblem } from '../../src/input/path-form.js';
import { startEnvoy } from '../support/envoy.js';
import type { Gatehouse } from '../../src/server/start.js';
import { startTestGatehouse } from '../support/gatehouse.js';
import { testdata } from '../support/paths.js';
import { requireTool } from '../support/tools.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const HOST = 'app.example.com';

/** One raw HTTP/1.1 request, written byte for byte (no client-side normalisation); the status line back. */
function rawRequest(port: number, head: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: '127.0.0.1', port }, () => socket.write(`${head}\r\n`));
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      data += chunk;
      const match = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (match !== null && data.includes('\r\n\r\n')) {
        socket.destroy();
        resolve(Number(match[1]));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const match = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (match === null) reject(new Error(`no response: ${JSON.stringify(data.slice(0, 200))}`));
      else resolve(Number(match[1]));
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('timeout')));
  });
}

async function stack(
  t: TestContext,
  identity: Record<string, unknown> = {},
): Promise<{ port: number; app: Upstream; gatehouse: Gatehouse } | undefined> {
  const envoyBin = requireTool(t, 'envoy');
  const opa = requireTool(t, 'opa');
  if (envoyBin === undefined || opa === undefined) return undefined;
  const policyDir = mkdtempSync(join(tmpdir(), 'gatehouse-sec-policy-'));
  copyFileSync(testdata('e2e', 'prefix.rego'), join(policyDir, 'authz.rego'));
  const app = await startUpstream();
  t.after(() => app.close());
  const { gatehouse } = await startTestGatehouse({ dir: policyDir, opa, watch: false }, identity);
  t.after(() => gatehouse.stop());
  // Both routes go to the one recording upstream: whatever Envoy forwards is seen.
  const envoy = await startEnvoy({
    bin: envoyBin,
    gatehousePort: gatehouse.grpcPort,
    upstreams: { app: app.port, admin: app.port },
  });
  t.after(() => envoy.stop());
  return { port: envoy.port, app, gatehouse };
}

/** Every family of path that is not in normal form, in the encodings an attack run used. */
const ATTACK_PATHS = [
  '/public/../admin',
  '/public/./../admin',
  '/public/%2e%2e/admin',
  '/public/%2E%2E/admin',
  '/public/.%2e/admin',
  '/public/%2e./admin',
  '/public/%252e%252e/admin',
  '/public/%25252e%25252e/admin',
  '/public/%252e%252e%252fadmin',
  '/public/..;/admin',
  '/public/%2e%2e;/admin',
  '/public;x/../admin',
  '/public/%3b/../admin',
  '/public/..%3b/admin',
  '/public/..%5cadmin',
  '/public/%5c..%5cadmin',
  '/public/..%2fadmin',
  '/public%2f..%2fadmin',
  '/public/.../admin',
  '/public/..../admin',
  '/public/%2e%2e%2e/admin',
  '/public/%c0%ae%c0%ae/admin',
  '/public/%0a/admin',
  '/public/%09/../admin',
  '/public/..\\admin',
  '/public\\..\\admin',
];

test('issue 12 point 5: through the shipped Envoy, no path outside normal form reaches the upstream, and none leaves /public', async (t) => {
  const s = await stack(t);
  if (s === undefined) return;
  // Control: a normal path is allowed and forwarded as is.
  assert.equal(await rawRequest(s.port, `GET /public/ok HTTP/1.1\r\nHost: ${HOST}\r\n`), 200);
  assert.equal(s.app.last()?.url, '/public/ok');
  const statuses: Record<string, number> = {};
  for (const path of ATTACK_PATHS) {
    statuses[path] = await rawRequest(s.port, `GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\n`);
  }
  for (const request of s.app.requests) {
    const url = request.url.split('?')[0] ?? '';
    assert.equal(
      pathFormProblem(url),
      undefined,
      `the upstream received ${JSON.stringify(request.url)} (statuses ${JSON.stringify(statuses)})`,
    );
    assert.match(
      url,
      /^\/public(\/|$)/,
      `the upstream received ${JSON.stringify(request.url)} outside /public`,
    );
  }
});

test('issue 12 point 2: through the shipped Envoy, a session cookie in a second Cookie line never reaches the upstream', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sec-keys-'));
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const keyFile = join(dir, 'signing.pem');
  writeFileSync(keyFile, await exportPKCS8(privateKey), { mode: 0o600 });
  const secretFile = join(dir, 'session-secret');
  writeFileSync(secretFile, randomBytes(32).toString('base64url'), { mode: 0o600 });
  const idp = await startIdp({
    clients: [
      {
        client_id: 'gatehouse',
        client_secret: 'gatehouse-secret-0123456789',
        redirect_uris: [`https://${HOST}/.gatehouse/callback`],
      },
    ],
  });
  t.after(() => idp.stop());
  const s = await stack(t, {
    development: true,
    keys: { signing: [keyFile] },
    session: { secret: { file: secretFile } },
    identity: {
      issuer: idp.issuer,
      client_id: 'gatehouse',
      client_secret: 'gatehouse-secret-0123456789',
    },
  });
  if (s === undefined) return;
  assert.ok(s.gatehouse.sessions, 'identity is configured');
  const { cookieValue: session } = await s.gatehouse.sessions.issue({
    sub: 'alice',
    email: 'alice@example.com',
    email_verified: true,
    name: 'Alice',
    groups: ['staff'],
    idp_iss: idp.issuer,
    claims: {},
    host: HOST,
  });

  const variants = [
    ['theme=dark', `__Host-gatehouse=${session}`],
    [`__Host-gatehouse=${session}`, 'theme=dark'],
    ['theme=dark; a=1', `b=2; __Host-gatehouse=${session}`],
    ['theme=dark', `__Host-gatehouse=${session}`, '__Host-gatehouse-txn=t'],
    ['theme=dark', `__HOST-GATEHOUSE=${session}`],
  ];
  for (const lines of variants) {
    const before = s.app.requests.length;
    const head = `GET /public/x HTTP/1.1\r\nHost: ${HOST}\r\n${lines.map((l) => `Cookie: ${l}\r\n`).join('')}`;
    const status = await rawRequest(s.port, head);
    const forwarded = s.app.requests.slice(before);
    for (const request of forwarded) {
      const all = request.rawHeaders.join('\n');
      assert.doesNotMatch(
        all,
        /__host-gatehouse/i,
        `${JSON.stringify(lines)}: the upstream got ${all}`,
      );
      assert.equal(
        all.includes(session),
        false,
        `${JSON.stringify(lines)}: the session reached the upstream`,
      );
    }
    assert.ok(status === 200 || status === 400, `${JSON.stringify(lines)}: ${status}`);
    if (status === 200)
      assert.match(
        forwarded[0]?.headers.cookie ?? '',
        /theme=dark/,
        'the application cookie is kept',
      );
  }
});

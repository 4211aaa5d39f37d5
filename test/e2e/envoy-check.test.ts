import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import {
  request as httpRequest,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { parse } from 'yaml';
import type { Gatehouse } from '../../src/server/start.js';
import { startEnvoy, type RunningEnvoy } from '../support/envoy.js';
import { startTestGatehouse, type LogSink } from '../support/gatehouse.js';
import { repoPath, testdata } from '../support/paths.js';
import { requireTool } from '../support/tools.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

/**
 * The whole path a user's request takes: a client → the real Envoy running the shipped
 * envoy/front-proxy.yaml → ext_authz Check over gRPC → an in-process Gatehouse evaluating
 * test/testdata/e2e/authz.rego → the `app` or `admin` upstream (or a deny from Envoy).
 */

interface Stack {
  readonly envoy: RunningEnvoy;
  readonly app: Upstream;
  readonly admin: Upstream;
  readonly gatehouse: Gatehouse;
  readonly logs: LogSink;
}

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * Start upstreams, Gatehouse and Envoy; every part is stopped in `t.after` as soon as it exists,
 * so a failure half-way through leaves nothing running.
 */
async function startStack(t: TestContext, envoyBin: string, opa: string): Promise<Stack> {
  const policyDir = await mkdtemp(join(tmpdir(), 'gatehouse-e2e-policy-'));
  t.after(() => rm(policyDir, { recursive: true, force: true }));
  // Only the .rego goes into the policy folder: opa would load the request fixtures as data.
  await copyFile(testdata('e2e', 'authz.rego'), join(policyDir, 'authz.rego'));

  const app = await startUpstream();
  t.after(() => app.close());
  const admin = await startUpstream();
  t.after(() => admin.close());

  const { gatehouse, logs } = await startTestGatehouse({ dir: policyDir, opa, watch: false });
  t.after(() => gatehouse.stop());

  const envoy = await startEnvoy({
    bin: envoyBin,
    gatehousePort: gatehouse.grpcPort,
    upstreams: { app: app.port, admin: admin.port },
  });
  t.after(() => envoy.stop());
  return { envoy, app, admin, gatehouse, logs };
}

/**
 * One HTTP/1.1 request to Envoy's listener with node:http (not fetch: the path goes out byte for
 * byte, unnormalised, and header names are not filtered). A fresh connection per request.
 */
function send(
  envoy: RunningEnvoy,
  path: string,
  options: { method?: string; headers?: OutgoingHttpHeaders; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: envoy.port,
        path,
        method: options.method ?? 'GET',
        headers: {
          host: 'app.example.com',
          // A declared length (not chunked): Gatehouse compares it, in bytes, with the body it got.
          ...(options.body === undefined
            ? {}
            : { 'content-length': Buffer.byteLength(options.body) }),
          ...options.headers,
        },
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
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
    req.on('timeout', () => req.destroy(new Error(`no answer from envoy for ${path}`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Request counts of both upstreams, to prove later that a request reached neither. */
function counts(stack: Stack): { app: number; admin: number } {
  return { app: stack.app.requests.length, admin: stack.admin.requests.length };
}

test('Envoy (front-proxy.yaml) asks Gatehouse and enforces its decision', async (t) => {
  const envoyBin = requireTool(t, 'envoy');
  if (envoyBin === undefined) return;
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;

  const stack = await startStack(t, envoyBin, opa);
  const { envoy, app, admin } = stack;

  await t.test(
    'an allowed request reaches the app with the policy-added header and without the removed one',
    async () => {
      const before = counts(stack);
      const res = await send(envoy, '/hello', {
        headers: { 'x-secret-internal': '1', 'x-keep-me': 'kept' },
      });
      assert.equal(res.status, 200, `${res.status} ${res.body}\n${envoy.logs()}`);
      assert.equal(app.requests.length, before.app + 1);
      assert.equal(admin.requests.length, before.admin);

      const got = app.last();
      assert.equal(got?.method, 'GET');
      assert.equal(got?.url, '/hello');
      assert.equal(got?.headers['x-policy-added'], 'yes');
      assert.equal(
        got?.headers['x-secret-internal'],
        undefined,
        'request_headers_to_remove was not applied',
      );
      assert.ok(!got?.rawHeaders.some((h) => h.toLowerCase() === 'x-secret-internal'));
      assert.equal(got?.headers['x-keep-me'], 'kept');
      // response_headers_to_add reaches the client.
      assert.equal(res.headers['x-policy-response'], 'hello-ok');
    },
  );

  await t.test(
    "a denied request gets the policy's status, body and header, and never reaches an upstream",
    async () => {
      const before = counts(stack);
      const res = await send(envoy, '/teapot');
      assert.equal(res.status, 429);
      assert.equal(res.body, 'slow down');
      assert.equal(res.headers['retry-after'], '7');
      assert.deepEqual(counts(stack), before);
      // The deny came from the policy (through Gatehouse), not from an Envoy error path.
      assert.ok(
        stack.logs.lines.some(
          (l) => l['status'] === 429 && JSON.stringify(l['reasons']) === '["rate limited"]',
        ),
        'no decision log line for the 429',
      );
    },
  );

  await t.test(
    'per-route context_extensions reach the policy: /admin/x is allowed on the admin route only',
    async () => {
      const before = counts(stack);
      const res = await send(envoy, '/admin/x');
      assert.equal(res.status, 200, `${res.status} ${res.body}`);
      assert.equal(admin.requests.length, before.admin + 1);
      assert.equal(app.requests.length, before.app);
      assert.equal(admin.last()?.url, '/admin/x');
      assert.equal(admin.last()?.headers['x-route'], 'admin');

      // /administrator matches the policy's (loose) prefix but Envoy routes it to `app`, whose
      // context extension says route=app: denied, so the label, not the path, decided.
      const other = await send(envoy, '/administrator');
      assert.equal(other.status, 403, `${other.status} ${other.body}`);
      assert.equal(admin.requests.length, before.admin + 1);
      assert.equal(app.requests.length, before.app);
    },
  );

  await t.test(
    'a POST JSON body sent as raw bytes (pack_as_bytes) is parsed and decides',
    async () => {
      // The premise: the shipped config sends the body as raw_body, not as the `body` string.
      const shipped = parse(
        await readFile(repoPath('envoy', 'front-proxy.yaml'), 'utf8'),
      ) as unknown;
      assert.match(JSON.stringify(shipped), /"pack_as_bytes":true/);

      const before = counts(stack);
      const okBody = JSON.stringify({ ok: true, note: 'grüße' });
      const yes = await send(envoy, '/submit', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: okBody,
      });
      assert.equal(yes.status, 200, `${yes.status} ${yes.body}`);
      assert.equal(app.requests.length, before.app + 1);
      assert.equal(app.last()?.method, 'POST');
      assert.equal(app.last()?.body, okBody, 'the body must reach the upstream unchanged');
      assert.equal(app.last()?.headers['x-body-checked'], 'yes');

      const no = await send(envoy, '/submit', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ok: false }),
      });
      assert.equal(no.status, 403, `${no.status} ${no.body}`);
      assert.equal(app.requests.length, before.app + 1);

      // Not JSON although it says so: Gatehouse fails closed with a coded 400.
      const broken = await send(envoy, '/submit', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"ok": true',
      });
      assert.equal(broken.status, 400, `malformed JSON got ${broken.status} ${broken.body}`);
      assert.equal(broken.headers['x-gatehouse-error'], 'ERR_BODY_INVALID');
      assert.equal(app.requests.length, before.app + 1);
      assert.equal(admin.requests.length, before.admin);
    },
  );

  await t.test('a NUL-escaped path is rejected and reaches no upstream', async () => {
    const before = counts(stack);
    const logged = stack.logs.lines.length;
    const res = await send(envoy, '/hello%00');
    // Envoy's normalize_path refuses %00 itself (400, before ext_authz runs).
    assert.equal(res.status, 400, `/hello%00 got ${res.status} ${res.body}`);
    assert.deepEqual(counts(stack), before);
    assert.ok(
      !stack.logs.lines.slice(logged).some((l) => l['msg'] === 'check'),
      'Gatehouse was asked about it',
    );
  });

  await t.test('a header name with an underscore is rejected even on an allowed path', async () => {
    const before = counts(stack);
    const logged = stack.logs.lines.length;
    // /hello alone is allowed (first subtest); the underscore header must still stop it.
    // headers_with_underscores_action: REJECT_REQUEST, so Envoy answers 400 itself.
    const res = await send(envoy, '/hello', { headers: { x_forwarded: '1' } });
    assert.equal(res.status, 400, `${res.status} ${res.body}`);
    assert.deepEqual(counts(stack), before);
    assert.ok(
      !stack.logs.lines.slice(logged).some((l) => l['msg'] === 'check'),
      'Gatehouse was asked about it',
    );
  });

  await t.test(
    'encoded-slash traversal does not smuggle an admin path past the route label',
    async () => {
      const before = counts(stack);
      // UNESCAPE_AND_REDIRECT: Envoy answers with a redirect to the canonical path, forwarding
      // nothing; following it is an ordinary /admin/x request on the admin route.
      const res = await send(envoy, '/hello%2F..%2Fadmin%2Fx');
      assert.equal(res.status, 307, `${res.status} ${res.body}`);
      assert.equal(res.headers.location, '/admin/x');
      assert.deepEqual(counts(stack), before);
    },
  );
});

test('with Gatehouse stopped, Envoy fails closed with 503 (status_on_error)', async (t) => {
  const envoyBin = requireTool(t, 'envoy');
  if (envoyBin === undefined) return;
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;

  const stack = await startStack(t, envoyBin, opa);
  // Sanity: the same request is allowed while Gatehouse runs.
  const up = await send(stack.envoy, '/hello');
  assert.equal(up.status, 200, `${up.status} ${up.body}`);

  await stack.gatehouse.stop();
  const before = counts(stack);
  for (const path of ['/hello', '/admin/x']) {
    const res = await send(stack.envoy, path);
    assert.equal(res.status, 503, `${path}: ${res.status} ${res.body}`);
  }
  assert.deepEqual(counts(stack), before, 'an upstream was reached while Gatehouse was down');
});

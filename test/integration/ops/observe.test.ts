import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Gatehouse } from '../../../src/server/start.js';
import type { LogSink } from '../../support/gatehouse.js';
import { connect, httpRequest, type TestClient } from '../../support/grpc-client.js';
import { findTool } from '../../support/tools.js';
import { configDoc, get, policyDir, sample, startFromFile, until, writeConfig } from './support.js';

const opa = findTool('opa');
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN = '00f067aa0ba902b7';
// Raw credentials that must never reach a log line.
const BEARER = 'eyJhbGciOiJSUzI1NiJ9.SECRET-BEARER-PAYLOAD.sig';
const COOKIE = 'SECRET-SESSION-COOKIE-VALUE';
const CODE = 'SECRET-OAUTH-CODE';
const BODY = 'password=SECRET-FORM-PASSWORD';

let gatehouse: Gatehouse;
let logs: LogSink;
let client: TestClient;

before(async () => {
  if (opa === undefined) return;
  // Debug level: decision lines carry the policy input too, which is what redaction must survive.
  ({ gatehouse, logs } = await startFromFile(
    writeConfig(configDoc(policyDir(), opa, { log: { level: 'debug' } })),
  ));
  client = connect(gatehouse.grpcPort);
});

after(async () => {
  client?.close();
  await gatehouse?.stop();
});

function linesFor(requestId: string): Record<string, unknown>[] {
  return logs.lines.filter(
    (l) => l['request_id'] === requestId && (l['msg'] === 'check' || l['msg'] === 'check failed'),
  );
}

test('one decision line per Check, with every field, and no credential in it even at debug', {
  skip: opa === undefined && 'opa not found',
}, async () => {
  const response = await client.check({
    ...httpRequest({
      method: 'POST',
      path: `/public/page?code=${CODE}&x=1`,
      headers: {
        'x-request-id': 'req-allowed',
        traceparent: `00-${TRACE_ID}-${PARENT_SPAN}-01`,
        authorization: `Bearer ${BEARER}`,
        cookie: `__Host-gatehouse=${COOKIE}; theme=dark`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: BODY,
      contextExtensions: { route: 'app' },
    }),
  });
  assert.equal(response.httpResponse.case, 'okResponse');
  await until(() => linesFor('req-allowed').length > 0, 5000, 'the decision line');
  const lines = linesFor('req-allowed');
  assert.equal(lines.length, 1, 'exactly one line per Check');
  const line = lines[0]!;
  assert.equal(line['level'], 'info');
  assert.equal(line['trace_id'], TRACE_ID);
  assert.equal(line['span_id'], PARENT_SPAN, 'without tracing, the caller span from traceparent');
  assert.equal(line['host'], 'app.example.com');
  assert.equal(line['method'], 'POST');
  assert.equal(line['path'], '/public/page', 'query dropped by default');
  assert.equal(line['route'], 'app');
  assert.equal(line['auth'], 'anonymous');
  assert.equal(line['allowed'], true);
  assert.equal(line['status'], 200);
  assert.deepEqual(line['reasons'], ['public path']);
  assert.match(String(line['policy_revision']), /^sha256:/);
  assert.equal(typeof line['latency_us'], 'number');
  assert.equal(line['handled_by'], 'policy');
  assert.equal(line['code'], undefined);
  assert.ok(line['input'], 'debug lines carry the input');

  const raw = JSON.stringify(line);
  for (const secret of [BEARER, 'SECRET-BEARER-PAYLOAD', COOKIE, CODE, 'SECRET-FORM-PASSWORD']) {
    assert.ok(!raw.includes(secret), `${secret} leaked into the decision line: ${raw}`);
  }
  const headers = (
    line['input'] as {
      attributes: { request: { http: { headers: Record<string, string>; path: string } } };
    }
  ).attributes.request.http;
  assert.equal(headers.headers['authorization'], '[redacted]');
  assert.equal(headers.headers['cookie'], '[redacted]');
  assert.equal(
    headers.path,
    '/public/page?code=[redacted]&x=[redacted]',
    'the path is kept, its query values masked',
  );
});

test('a deny and an error are logged with status, reasons and code', {
  skip: opa === undefined && 'opa not found',
}, async () => {
  const denied = await client.check(
    httpRequest({ path: '/private', headers: { 'x-request-id': 'req-denied' } }),
  );
  assert.equal(denied.httpResponse.case, 'deniedResponse');
  const failed = await client.check(
    httpRequest({ path: '/public/%zz', headers: { 'x-request-id': 'req-error' } }),
  );
  assert.equal(failed.httpResponse.case, 'deniedResponse');
  await until(
    () => linesFor('req-denied').length > 0 && linesFor('req-error').length > 0,
    5000,
    'the decision lines',
  );
  const deny = linesFor('req-denied')[0]!;
  assert.equal(deny['allowed'], false);
  assert.equal(deny['status'], 403);
  assert.deepEqual(deny['reasons'], ['not public']);
  const error = linesFor('req-error')[0]!;
  assert.equal(error['level'], 'warn');
  assert.equal(error['code'], 'ERR_PATH_INVALID');
  assert.equal(error['status'], 400);
  assert.equal(error['handled_by'], 'error');
});

test('a Check for /metrics is an ordinary request the policy decides: Gatehouse never serves metrics through Envoy', {
  skip: opa === undefined && 'opa not found',
}, async () => {
  for (const path of ['/metrics', '/readyz', '/healthz']) {
    const response = await client.check(
      httpRequest({ path, headers: { 'x-request-id': `req-${path}` } }),
    );
    assert.equal(response.httpResponse.case, 'deniedResponse', `${path} is denied by this policy`);
    const denied = response.httpResponse.value as { body: string; status?: { code: number } };
    assert.equal(denied.status?.code, 403);
    assert.ok(!denied.body.includes('gatehouse_'), 'no metrics in the body');
    await until(() => linesFor(`req-${path}`).length > 0, 5000, 'the line');
    const line = linesFor(`req-${path}`)[0]!;
    assert.equal(line['handled_by'], 'policy');
    assert.deepEqual(line['reasons'], ['not public']);
  }
});

test('GET /metrics on the HTTP listener counts the Checks above', {
  skip: opa === undefined && 'opa not found',
}, async () => {
  const { status, text, type } = await get(gatehouse.httpPort, '/metrics');
  assert.equal(status, 200);
  assert.match(type, /^text\/plain/);
  assert.ok(
    (sample(text, 'gatehouse_decisions_total', {
      result: 'allowed',
      status: '200',
      route: 'app',
    }) ?? 0) >= 1,
  );
  assert.ok(
    (sample(text, 'gatehouse_decisions_total', { result: 'denied', status: '403', route: '' }) ??
      0) >= 4,
  );
  assert.ok(
    (sample(text, 'gatehouse_decisions_total', { result: 'error', status: '400', route: '' }) ??
      0) >= 1,
  );
  assert.ok((sample(text, 'gatehouse_errors_total', { code: 'ERR_PATH_INVALID' }) ?? 0) >= 1);
  assert.ok((sample(text, 'gatehouse_check_duration_seconds_count') ?? 0) >= 6);
  assert.equal(
    sample(text, 'gatehouse_check_duration_seconds_bucket', { le: '0.00005' }) !== undefined,
    true,
    'buckets start at 50µs',
  );
  assert.ok((sample(text, 'gatehouse_policy_eval_duration_seconds_count') ?? 0) >= 5);
  assert.equal(sample(text, 'gatehouse_policy_reloads_total', { result: 'success' }), 1);
  assert.equal(
    sample(text, 'gatehouse_policy_revision_info', {
      revision: gatehouse.policy.current()!.revision,
    }),
    1,
  );
  assert.ok(sample(text, 'process_cpu_user_seconds_total') !== undefined, 'process defaults');
});

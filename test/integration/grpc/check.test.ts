import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { toJson } from '@bufbuild/protobuf';
import { GatehouseError } from '../../../src/errors/gatehouse-error.js';
import {
  CheckResponseSchema,
  type CheckResponse,
} from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { ServingStatus } from '../../../src/wire/health.js';
import type { Gatehouse } from '../../../src/server/start.js';
import { startTestGatehouse, type LogSink } from '../../support/gatehouse.js';
import { connect, httpRequest, type TestClient } from '../../support/grpc-client.js';
import { findTool } from '../../support/tools.js';

/** The decision policy used by most tests here, keyed on the path. */
const POLICY = `package envoy.authz

import rego.v1

default allow := false

allow := true if input.parsed_path == ["public"]

allow := {"allowed": true, "headers": {"x-policy-user": "alice", "x-role": ["a", "b"]}, "request_headers_to_remove": ["x-debug"],
  "response_headers_to_add": {"x-frame-options": "DENY"}, "query_parameters_to_set": {"tenant": "acme"},
  "query_parameters_to_remove": ["token"], "dynamic_metadata": {"user": "alice"}} if input.parsed_path == ["object"]

allow := {"allowed": false, "http_status": 429, "body": "teapot", "headers": {"x-deny": "1"}, "reasons": ["no tea"]} if input.parsed_path == ["teapot"]

allow := input.parsed_body.flag if input.parsed_path == ["body"]

allow := input.attributes.contextExtensions.route == "admin" if input.parsed_path == ["route"]

# Undefined for /undefined: the default only applies when no other rule matched, so make it undefined explicitly.
allow := x if { input.parsed_path == ["wrong-shape"]; x := "yes" }

# Conflicting values: an evaluation error.
allow := true if input.parsed_path == ["conflict"]
allow := false if input.parsed_path == ["conflict"]
`;

const UNDEFINED_POLICY = `package envoy.authz

import rego.v1

allow if input.parsed_path == ["yes"]
`;

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function writePolicy(source: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-policy-'));
  writeFileSync(join(dir, 'authz.rego'), source);
  return dir;
}

function denied(response: CheckResponse): {
  grpc: number | undefined;
  http: number | undefined;
  body: string;
  headers: Record<string, string>;
} {
  assert.equal(response.httpResponse.case, 'deniedResponse');
  const value =
    response.httpResponse.case === 'deniedResponse' ? response.httpResponse.value : undefined;
  return {
    grpc: response.status?.code,
    http: value?.status?.code,
    body: value?.body ?? '',
    headers: Object.fromEntries(
      value?.headers.map((h) => [h.header?.key ?? '', h.header?.value ?? '']) ?? [],
    ),
  };
}

describe('Check over a real gRPC socket', {
  skip:
    findTool('opa') === undefined && process.env['CI'] !== 'true'
      ? 'opa not installed (run scripts/install-tools.sh)'
      : false,
}, () => {
  let gatehouse: Gatehouse;
  let logs: LogSink;
  let client: TestClient;

  before(async () => {
    ({ gatehouse, logs } = await startTestGatehouse({
      dir: writePolicy(POLICY),
      opa: findTool('opa') ?? 'opa',
      watch: false,
    }));
    client = connect(gatehouse.grpcPort);
  });
  after(async () => {
    client.close();
    await gatehouse.stop();
  });

  test('boolean true allows with an OK status and an empty OkHttpResponse', async () => {
    const response = await client.check(httpRequest({ path: '/public' }));
    assert.equal(response.status?.code, 0);
    assert.equal(response.httpResponse.case, 'okResponse');
  });

  test('default false denies with 403 and PERMISSION_DENIED', async () => {
    const r = denied(await client.check(httpRequest({ path: '/private' })));
    assert.equal(r.grpc, 7);
    assert.equal(r.http, 403);
  });

  test('object allow maps every field onto OkHttpResponse and dynamic_metadata', async () => {
    const response = await client.check(httpRequest({ path: '/object' }));
    const json = toJson(CheckResponseSchema, response) as {
      dynamicMetadata: Record<string, unknown>;
    };
    assert.match(String(json.dynamicMetadata['decision_id']), UUID_V4);
    delete json.dynamicMetadata['decision_id'];
    assert.deepEqual(json, {
      status: {},
      okResponse: {
        headers: [
          { header: { key: 'x-policy-user', value: 'alice' }, append: false },
          { header: { key: 'x-role', value: 'a' }, append: false },
          { header: { key: 'x-role', value: 'b' }, append: true },
        ],
        headersToRemove: ['x-debug'],
        responseHeadersToAdd: [{ header: { key: 'x-frame-options', value: 'DENY' } }],
        queryParametersToSet: [{ key: 'tenant', value: 'acme' }],
        queryParametersToRemove: ['token'],
      },
      dynamicMetadata: { user: 'alice' },
    });
  });

  test('every response carries a decision_id (UUID v4) in its dynamic metadata, the same as its decision log line, as the plugin', async () => {
    for (const [path, id] of [
      ['/public', 'did-allow'],
      ['/private', 'did-deny'],
      ['/conflict', 'did-error'],
    ] as const) {
      const response = await client.check(httpRequest({ path, headers: { 'x-request-id': id } }));
      const decisionId = (
        toJson(CheckResponseSchema, response) as { dynamicMetadata?: Record<string, unknown> }
      ).dynamicMetadata?.['decision_id'];
      assert.match(String(decisionId), UUID_V4, path);
      const line = logs.lines.find((l) => l['request_id'] === id);
      assert.equal(line?.['decision_id'], decisionId, path);
    }
  });

  test('object deny carries the policy status, body and headers; reasons reach the log', async () => {
    const r = denied(
      await client.check(httpRequest({ path: '/teapot', headers: { 'x-request-id': 'teapot-1' } })),
    );
    assert.equal(r.http, 429);
    assert.equal(r.body, 'teapot');
    assert.equal(r.headers['x-deny'], '1');
    const line = logs.lines.find((l) => l['request_id'] === 'teapot-1');
    assert.deepEqual(line?.['reasons'], ['no tea']);
    assert.equal(line?.['status'], 429);
  });

  test('the body reaches the policy as parsed_body', async () => {
    const allowed = await client.check(
      httpRequest({
        method: 'POST',
        path: '/body',
        headers: { 'content-type': 'application/json' },
        body: '{"flag": true}',
      }),
    );
    assert.equal(allowed.httpResponse.case, 'okResponse');
  });

  test('context_extensions reach the policy', async () => {
    const ok = await client.check(
      httpRequest({ path: '/route', contextExtensions: { route: 'admin' } }),
    );
    assert.equal(ok.httpResponse.case, 'okResponse');
    const no = await client.check(
      httpRequest({ path: '/route', contextExtensions: { route: 'app' } }),
    );
    assert.equal(no.httpResponse.case, 'deniedResponse');
  });

  const FAILURES: {
    name: string;
    request: Parameters<typeof httpRequest>[0];
    code: string;
    http: number;
    grpc: number;
  }[] = [
    {
      name: 'a decision of the wrong shape',
      request: { path: '/wrong-shape' },
      code: 'ERR_DECISION_INVALID',
      http: 500,
      grpc: 13,
    },
    {
      name: 'a policy that throws',
      request: { path: '/conflict' },
      code: 'ERR_POLICY_EVAL',
      http: 500,
      grpc: 13,
    },
    {
      name: 'a path that cannot be parsed',
      request: { path: '/a%zz' },
      code: 'ERR_PATH_INVALID',
      http: 400,
      grpc: 3,
    },
    {
      name: 'a path with NUL',
      request: { path: '/a%00b' },
      code: 'ERR_PATH_INVALID',
      http: 400,
      grpc: 3,
    },
    {
      name: 'a body that is not what its content type says',
      request: {
        method: 'POST',
        path: '/body',
        headers: { 'content-type': 'application/json' },
        body: '{"flag": tru',
      },
      code: 'ERR_BODY_INVALID',
      http: 400,
      grpc: 3,
    },
  ];
  for (const f of FAILURES) {
    test(`fails closed on ${f.name}: ${f.code}, HTTP ${f.http}`, async () => {
      const id = `fail-${f.code}-${Math.random()}`;
      const r = denied(
        await client.check(
          httpRequest({ ...f.request, headers: { ...f.request.headers, 'x-request-id': id } }),
        ),
      );
      assert.equal(r.grpc, f.grpc);
      assert.equal(r.http, f.http);
      assert.equal(r.headers['x-gatehouse-error'], f.code);
      assert.equal((JSON.parse(r.body) as { error: string }).error, f.code);
      const line = logs.lines.find((l) => l['request_id'] === id);
      assert.equal(line?.['code'], f.code);
      assert.equal(line?.['allowed'], false);
    });
  }

  test('a CheckRequest without HTTP attributes is denied, not crashed on', async () => {
    const r = denied(await client.check({}));
    assert.equal(r.http, 400);
    assert.equal(r.headers['x-gatehouse-error'], 'ERR_REQUEST_INVALID');
  });

  test('an oversized CheckRequest is refused with RESOURCE_EXHAUSTED', async () => {
    const big = 'x'.repeat(5 * 1024 * 1024);
    await assert.rejects(
      client.check(httpRequest({ method: 'POST', path: '/body', body: big })),
      (err: grpc.ServiceError) => err.code === grpc.status.RESOURCE_EXHAUSTED,
    );
  });

  test('health: Check reports SERVING for the server and for Authorization; unknown service is NOT_FOUND', async () => {
    assert.equal((await client.health('')).status, ServingStatus.SERVING);
    assert.equal(
      (await client.health('envoy.service.auth.v3.Authorization')).status,
      ServingStatus.SERVING,
    );
    await assert.rejects(
      client.health('nope'),
      (err: grpc.ServiceError) => err.code === grpc.status.NOT_FOUND,
    );
  });

  test('health: Watch streams the current status, then changes', async () => {
    const watch = client.watch('');
    assert.equal(await watch.next(), ServingStatus.SERVING);
    gatehouse.health.set(ServingStatus.NOT_SERVING);
    assert.equal(await watch.next(), ServingStatus.NOT_SERVING);
    gatehouse.health.set(ServingStatus.SERVING);
    assert.equal(await watch.next(), ServingStatus.SERVING);
    watch.cancel();
  });
});

describe('undefined decisions and load-time refusals', {
  skip: findTool('opa') === undefined && process.env['CI'] !== 'true' ? 'opa not installed' : false,
}, () => {
  test('an undefined decision denies with 403 ERR_DECISION_UNDEFINED', async () => {
    const { gatehouse } = await startTestGatehouse({
      dir: writePolicy(UNDEFINED_POLICY),
      opa: findTool('opa') ?? 'opa',
      watch: false,
    });
    const client = connect(gatehouse.grpcPort);
    try {
      const r = denied(await client.check(httpRequest({ path: '/no' })));
      assert.equal(r.http, 403);
      assert.equal(r.headers['x-gatehouse-error'], 'ERR_DECISION_UNDEFINED');
      assert.equal(
        (await client.check(httpRequest({ path: '/yes' }))).httpResponse.case,
        'okResponse',
      );
    } finally {
      client.close();
      await gatehouse.stop();
    }
  });

  test('a policy needing a builtin Gatehouse does not provide is refused at start, naming it', async () => {
    const dir = writePolicy(`package envoy.authz

import rego.v1

allow if http.send({"method": "GET", "url": "http://127.0.0.1:1/"}).status_code == 200
`);
    await assert.rejects(
      startTestGatehouse({ dir, opa: findTool('opa') ?? 'opa', watch: false }),
      (err: unknown) =>
        err instanceof GatehouseError &&
        err.code === 'ERR_POLICY_BUILTIN_MISSING' &&
        err.message.includes('http.send'),
    );
  });

  test('a missing entrypoint is refused at start, naming it', async () => {
    await assert.rejects(
      startTestGatehouse({
        dir: writePolicy(UNDEFINED_POLICY),
        opa: findTool('opa') ?? 'opa',
        watch: false,
        entrypoint: 'envoy/authz/nope',
      }),
      (err: unknown) =>
        err instanceof GatehouseError &&
        err.code === 'ERR_POLICY_ENTRYPOINT' &&
        err.message.includes('envoy/authz/nope'),
    );
  });
});

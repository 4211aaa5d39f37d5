import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create, fromJson, type JsonValue } from '@bufbuild/protobuf';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import { MetadataSchema } from '../../../src/gen/envoy/config/core/v3/base_pb.js';
import { CheckRequestSchema } from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { buildInput } from '../../../src/input/build.js';
import { ANONYMOUS, type AuthenticatedIdentity } from '../../../src/input/types.js';
import { assertCode, fixture, FIXTURE_REGISTRY, plain } from './support.js';

interface BuildCase {
  name: string;
  request: JsonValue;
  input?: Record<string, unknown>;
  error?: string;
}

for (const c of fixture<BuildCase[]>('check-requests.json')) {
  test(`buildInput: ${c.name}`, () => {
    const req = fromJson(CheckRequestSchema, c.request, { registry: FIXTURE_REGISTRY });
    if (c.error !== undefined) {
      assertCode(() => buildInput(req, ANONYMOUS), c.error);
      return;
    }
    const input = buildInput(req, ANONYMOUS);
    assert.deepEqual(plain(input), { ...c.input, identity: { authenticated: false } });
  });
}

test('buildInput: version is exactly the plugin v3 object', () => {
  const input = buildInput(
    fromJson(CheckRequestSchema, { attributes: { request: { http: { path: '/' } } } }),
    ANONYMOUS,
  );
  assert.deepEqual(plain(input.version), { encoding: 'protojson', ext_authz: 'v3' });
});

test('buildInput: parsed_body is present as null (not absent) when nothing is parsed', () => {
  const input = buildInput(
    fromJson(CheckRequestSchema, { attributes: { request: { http: { path: '/' } } } }),
    ANONYMOUS,
  );
  assert.ok(Object.hasOwn(input, 'parsed_body'));
  assert.equal(input.parsed_body, null);
});

test('buildInput: the identity it is given is passed through unchanged', () => {
  const identity: AuthenticatedIdentity = {
    authenticated: true,
    method: 'bearer',
    sub: 'u1',
    email: 'u1@example.com',
    email_verified: true,
    name: null,
    groups: ['eng'],
    claims: { sub: 'u1', iss: 'https://idp.example' },
    session_id: null,
    issued_at: 1_700_000_000,
    expires_at: 1_700_000_600,
  };
  const input = buildInput(
    fromJson(CheckRequestSchema, { attributes: { request: { http: { path: '/' } } } }),
    identity,
  );
  assert.equal(input.identity, identity);
});

test('typed metadata of a type Gatehouse does not know is passed on as {typeUrl, value}, as the plugin does', () => {
  const req = fromJson(CheckRequestSchema, { attributes: { request: { http: { path: '/' } } } });
  const attrs = req.attributes;
  assert.ok(attrs !== undefined);
  attrs.metadataContext = create(MetadataSchema, {
    typedFilterMetadata: {
      x: create(AnySchema, {
        typeUrl: 'type.googleapis.com/example.Unknown',
        value: new Uint8Array([8, 1]),
      }),
    },
  });
  const input = buildInput(req, ANONYMOUS);
  assert.deepEqual(plain(input.attributes['metadataContext']), {
    typedFilterMetadata: { x: { typeUrl: 'type.googleapis.com/example.Unknown', value: 'CAE=' } },
  });
});

test('a NaN in metadata fails closed (ERR_REQUEST_INVALID)', () => {
  const req = fromJson(CheckRequestSchema, { attributes: { request: { http: { path: '/' } } } });
  const attrs = req.attributes;
  assert.ok(attrs !== undefined);
  attrs.metadataContext = create(MetadataSchema, { filterMetadata: { f: { n: Number.NaN } } });
  assertCode(() => buildInput(req, ANONYMOUS), 'ERR_REQUEST_INVALID');
});

test('source_principal is set from the source peer as the plugin does, and absent without one', () => {
  const withPrincipal = buildInput(
    fromJson(CheckRequestSchema, {
      attributes: {
        source: { principal: 'spiffe://test-domain/test' },
        request: { http: { path: '/' } },
      },
    }),
    ANONYMOUS,
  );
  assert.equal(withPrincipal.source_principal, 'spiffe://test-domain/test');
  const without = buildInput(
    fromJson(CheckRequestSchema, { attributes: { request: { http: { path: '/' } } } }),
    ANONYMOUS,
  );
  assert.ok(!Object.hasOwn(without, 'source_principal'));
});

test('request.http.size is a number and request.time is {seconds, nanos} (protomap, not protojson)', () => {
  const input = buildInput(
    fromJson(CheckRequestSchema, {
      attributes: { request: { time: '2024-05-01T12:00:00Z', http: { path: '/', size: '1023' } } },
    }),
    ANONYMOUS,
  );
  const request = input.attributes['request'] as { time: unknown; http: { size: unknown } };
  assert.equal(request.http.size, 1023);
  assert.deepEqual(plain(request.time), { seconds: 1714564800 });
});

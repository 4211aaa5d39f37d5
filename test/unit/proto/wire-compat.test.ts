import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  create,
  createRegistry,
  equals,
  fromBinary,
  fromJson,
  isFieldSet,
  toBinary,
  toJson,
  type DescMessage,
  type JsonObject,
  type Message,
  type MessageInitShape,
} from '@bufbuild/protobuf';
import { anyPack, anyUnpack } from '@bufbuild/protobuf/wkt';

import {
  AddressSchema,
  EnvoyInternalAddressSchema,
  PipeSchema,
  SocketAddressSchema,
  SocketAddress_Protocol,
} from '../../../src/gen/envoy/config/core/v3/address_pb.js';
import {
  HeaderMapSchema,
  HeaderValueOptionSchema,
  HeaderValueOption_HeaderAppendAction,
  HeaderValueSchema,
  MetadataSchema,
  QueryParameterSchema,
} from '../../../src/gen/envoy/config/core/v3/base_pb.js';
import {
  AttributeContextSchema,
  AttributeContext_HttpRequestSchema,
  AttributeContext_PeerSchema,
  AttributeContext_RequestSchema,
  AttributeContext_TLSSessionSchema,
} from '../../../src/gen/envoy/service/auth/v3/attribute_context_pb.js';
import {
  Authorization,
  CheckRequestSchema,
  CheckResponseSchema,
  DeniedHttpResponseSchema,
  OkHttpResponseSchema,
} from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { HttpStatusSchema, StatusCode } from '../../../src/gen/envoy/type/v3/http_status_pb.js';
import { StatusSchema } from '../../../src/gen/google/rpc/status_pb.js';

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * Field numbers as they are in Envoy's api/ tree (envoyproxy/envoy, main, read for this test):
 * external_auth.proto, attribute_context.proto, config/core/v3/{base,address}.proto,
 * type/v3/http_status.proto, and googleapis google/rpc/status.proto. CheckResponse.error_response
 * (5, a DeniedHttpResponse) was added by envoyproxy/envoy#42099 ("[#next-free-field: 6]").
 * Each message must have exactly these fields: none missing, none extra, none renumbered.
 */
const ENVOY_FIELDS: ReadonlyArray<readonly [DescMessage, Readonly<Record<string, number>>]> = [
  [CheckRequestSchema, { attributes: 1 }],
  [
    CheckResponseSchema,
    { status: 1, denied_response: 2, ok_response: 3, dynamic_metadata: 4, error_response: 5 },
  ],
  [DeniedHttpResponseSchema, { status: 1, headers: 2, body: 3 }],
  [
    OkHttpResponseSchema,
    {
      headers: 2,
      dynamic_metadata: 3,
      headers_to_remove: 5,
      response_headers_to_add: 6,
      query_parameters_to_set: 7,
      query_parameters_to_remove: 8,
    },
  ],
  [
    AttributeContextSchema,
    {
      source: 1,
      destination: 2,
      request: 4,
      context_extensions: 10,
      metadata_context: 11,
      tls_session: 12,
      route_metadata_context: 13,
    },
  ],
  [
    AttributeContext_PeerSchema,
    { address: 1, service: 2, labels: 3, principal: 4, certificate: 5 },
  ],
  [AttributeContext_RequestSchema, { time: 1, http: 2 }],
  [
    AttributeContext_HttpRequestSchema,
    {
      id: 1,
      method: 2,
      headers: 3,
      path: 4,
      host: 5,
      scheme: 6,
      query: 7,
      fragment: 8,
      size: 9,
      protocol: 10,
      body: 11,
      raw_body: 12,
      header_map: 13,
    },
  ],
  [AttributeContext_TLSSessionSchema, { sni: 1 }],
  [AddressSchema, { socket_address: 1, pipe: 2, envoy_internal_address: 3 }],
  [
    SocketAddressSchema,
    {
      protocol: 1,
      address: 2,
      port_value: 3,
      named_port: 4,
      resolver_name: 5,
      ipv4_compat: 6,
      network_namespace_filepath: 7,
    },
  ],
  [PipeSchema, { path: 1, mode: 2 }],
  [EnvoyInternalAddressSchema, { server_listener_name: 1, endpoint_id: 2 }],
  [MetadataSchema, { filter_metadata: 1, typed_filter_metadata: 2 }],
  [HeaderValueSchema, { key: 1, value: 2, raw_value: 3 }],
  [HeaderValueOptionSchema, { header: 1, append: 2, append_action: 3, keep_empty_value: 4 }],
  [HeaderMapSchema, { headers: 1 }],
  [QueryParameterSchema, { key: 1, value: 2 }],
  [HttpStatusSchema, { code: 1 }],
  [StatusSchema, { code: 1, message: 2, details: 3 }],
];

/** A CheckRequest with every AttributeContext field (and every nested field) set. */
function fullCheckRequest() {
  const peer = (ip: string, port: number, who: string) => ({
    address: {
      address: {
        case: 'socketAddress' as const,
        value: {
          protocol: SocketAddress_Protocol.TCP,
          address: ip,
          portSpecifier: { case: 'portValue' as const, value: port },
          resolverName: 'custom',
          ipv4Compat: true,
          networkNamespaceFilepath: '/var/run/netns/ns1',
        },
      },
    },
    service: `${who}-svc`,
    labels: { app: who, 'topology.kubernetes.io/zone': 'eu-west-1a' },
    principal: `spiffe://cluster.local/ns/default/sa/${who}`,
    certificate: '-----BEGIN%20CERTIFICATE-----%0AMIIB...%0A-----END%20CERTIFICATE-----%0A',
  });
  const metadata = (ns: string) => ({
    filterMetadata: {
      [ns]: {
        sub: 'alice',
        roles: ['admin', 'dev'],
        exp: 1700000000,
        nested: { ok: true, none: null },
      },
    },
    typedFilterMetadata: {
      [ns]: anyPack(HttpStatusSchema, create(HttpStatusSchema, { code: StatusCode.Forbidden })),
    },
  });
  return create(CheckRequestSchema, {
    attributes: {
      source: peer('10.0.0.1', 51234, 'client'),
      destination: peer('10.0.0.2', 8443, 'server'),
      request: {
        time: { seconds: 1_700_000_000n, nanos: 123_000_000 },
        http: {
          id: '6c0a3f5e-1d2b-4f7a-9f0e-3b1c2d4e5f60',
          method: 'POST',
          headers: {
            ':authority': 'app.example.com',
            cookie: 'gh_session=abc',
            'x-forwarded-proto': 'https',
          },
          headerMap: {
            headers: [
              { key: 'set-cookie', rawValue: utf8('a=1') },
              { key: 'set-cookie', rawValue: utf8('b=2') },
              { key: 'x-bin', rawValue: bytes(0xff, 0x00, 0x80) },
            ],
          },
          path: '/api/items?limit=10',
          host: 'app.example.com',
          scheme: 'https',
          query: 'limit=10',
          fragment: 'frag',
          size: 17n,
          protocol: 'HTTP/2',
          body: '{"name":"widget"}',
          rawBody: utf8('{"name":"widget"}'),
        },
      },
      contextExtensions: { virtual_host: 'app', gatehouse_route: 'api' },
      metadataContext: metadata('envoy.filters.http.jwt_authn'),
      routeMetadataContext: metadata('gatehouse'),
      tlsSession: { sni: 'app.example.com' },
    },
  });
}

test('field numbers and names match Envoy for every message', () => {
  for (const [schema, expected] of ENVOY_FIELDS) {
    const actual = Object.fromEntries(schema.fields.map((f) => [f.name, f.number]));
    assert.deepEqual(actual, expected, schema.typeName);
  }
});

test('package, message and service names match Envoy', () => {
  assert.equal(CheckRequestSchema.typeName, 'envoy.service.auth.v3.CheckRequest');
  assert.equal(CheckResponseSchema.typeName, 'envoy.service.auth.v3.CheckResponse');
  assert.equal(
    AttributeContext_TLSSessionSchema.typeName,
    'envoy.service.auth.v3.AttributeContext.TLSSession',
  );
  assert.equal(HeaderValueOptionSchema.typeName, 'envoy.config.core.v3.HeaderValueOption');
  assert.equal(HttpStatusSchema.typeName, 'envoy.type.v3.HttpStatus');
  assert.equal(StatusSchema.typeName, 'google.rpc.Status');
  assert.equal(Authorization.typeName, 'envoy.service.auth.v3.Authorization');
  // The gRPC path Envoy calls: /envoy.service.auth.v3.Authorization/Check, unary.
  assert.equal(Authorization.method.check.name, 'Check');
  assert.equal(Authorization.method.check.methodKind, 'unary');
  assert.equal(Authorization.method.check.input, CheckRequestSchema);
  assert.equal(Authorization.method.check.output, CheckResponseSchema);
});

test('the fixture sets every AttributeContext field, recursively', () => {
  const attrs = fullCheckRequest().attributes;
  assert.ok(attrs);
  const http = attrs.request?.http;
  assert.ok(http);
  const checks: Array<[DescMessage, Message]> = [
    [AttributeContextSchema, attrs],
    [AttributeContext_PeerSchema, attrs.source!],
    [AttributeContext_PeerSchema, attrs.destination!],
    [AttributeContext_RequestSchema, attrs.request!],
    [AttributeContext_HttpRequestSchema, http],
    [AttributeContext_TLSSessionSchema, attrs.tlsSession!],
    [MetadataSchema, attrs.metadataContext!],
    [MetadataSchema, attrs.routeMetadataContext!],
  ];
  for (const [schema, msg] of checks) {
    for (const field of schema.fields) {
      assert.ok(
        isFieldSet(msg, field),
        `${schema.typeName}.${field.name} is not set in the fixture`,
      );
    }
  }
});

test('CheckRequest with every AttributeContext field survives toBinary -> fromBinary', () => {
  const req = fullCheckRequest();
  const wire = toBinary(CheckRequestSchema, req);
  const back = fromBinary(CheckRequestSchema, wire);
  assert.ok(equals(CheckRequestSchema, req, back));
  // Spot-check values that are easy to lose: bytes, int64, Timestamp, Any, repeated raw headers.
  const http = back.attributes?.request?.http;
  assert.deepEqual(http?.rawBody, utf8('{"name":"widget"}'));
  assert.deepEqual(http?.headerMap?.headers[2]?.rawValue, bytes(0xff, 0x00, 0x80));
  assert.equal(http?.headerMap?.headers.filter((h) => h.key === 'set-cookie').length, 2);
  assert.equal(http?.size, 17n);
  assert.equal(back.attributes?.request?.time?.nanos, 123_000_000);
  assert.equal(back.attributes?.source?.principal, 'spiffe://cluster.local/ns/default/sa/client');
  const typed = back.attributes?.routeMetadataContext?.typedFilterMetadata['gatehouse'];
  assert.ok(typed);
  assert.equal(anyUnpack(typed, HttpStatusSchema)?.code, StatusCode.Forbidden);
  assert.deepEqual(
    back.attributes?.metadataContext?.filterMetadata['envoy.filters.http.jwt_authn']?.['roles'],
    ['admin', 'dev'],
  );
});

test('CheckResponse encodes each field under Envoy’s tag byte', () => {
  // tag = (field_number << 3) | wire_type; wire type 2 (length-delimited) for all of these.
  const enc = (init: MessageInitShape<typeof CheckResponseSchema>) =>
    toBinary(CheckResponseSchema, create(CheckResponseSchema, init));
  assert.deepEqual(enc({ status: { code: 0 } }), bytes(0x0a, 0x00)); // status = 1
  assert.deepEqual(
    enc({
      httpResponse: {
        case: 'deniedResponse',
        value: { status: { code: StatusCode.Unauthorized } },
      },
    }),
    // denied_response = 2 { status = 1 { code = 1: varint 401 } }
    bytes(0x12, 0x05, 0x0a, 0x03, 0x08, 0x91, 0x03),
  );
  assert.deepEqual(enc({ httpResponse: { case: 'okResponse', value: {} } }), bytes(0x1a, 0x00)); // ok_response = 3
  assert.deepEqual(enc({ dynamicMetadata: {} }), bytes(0x22, 0x00)); // dynamic_metadata = 4
  assert.deepEqual(enc({ httpResponse: { case: 'errorResponse', value: {} } }), bytes(0x2a, 0x00)); // error_response = 5
  assert.deepEqual(
    enc({ status: { code: 0 }, httpResponse: { case: 'okResponse', value: {} } }),
    bytes(0x0a, 0x00, 0x1a, 0x00),
  );
});

test('OkHttpResponse encodes each field under Envoy’s tag byte', () => {
  const enc = (init: MessageInitShape<typeof OkHttpResponseSchema>) =>
    toBinary(OkHttpResponseSchema, create(OkHttpResponseSchema, init));
  assert.deepEqual(enc({ headers: [{}] }), bytes(0x12, 0x00)); // headers = 2
  assert.deepEqual(enc({ dynamicMetadata: {} }), bytes(0x1a, 0x00)); // dynamic_metadata = 3
  assert.deepEqual(enc({ headersToRemove: ['a'] }), bytes(0x2a, 0x01, 0x61)); // headers_to_remove = 5
  assert.deepEqual(enc({ responseHeadersToAdd: [{}] }), bytes(0x32, 0x00)); // response_headers_to_add = 6
  assert.deepEqual(
    enc({ queryParametersToSet: [{ key: 'k', value: 'v' }] }),
    bytes(0x3a, 0x06, 0x0a, 0x01, 0x6b, 0x12, 0x01, 0x76),
  ); // = 7
  assert.deepEqual(enc({ queryParametersToRemove: ['q'] }), bytes(0x42, 0x01, 0x71)); // query_parameters_to_remove = 8
  // HeaderValueOption: header = 1, append = 2 (BoolValue), append_action = 3 (enum), keep_empty_value = 4
  assert.deepEqual(
    toBinary(
      HeaderValueOptionSchema,
      create(HeaderValueOptionSchema, {
        header: { key: 'x', value: 'y' },
        append: false,
        appendAction: HeaderValueOption_HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD,
        keepEmptyValue: true,
      }),
    ),
    bytes(0x0a, 0x06, 0x0a, 0x01, 0x78, 0x12, 0x01, 0x79, 0x12, 0x00, 0x18, 0x02, 0x20, 0x01),
  );
});

test('hand-encoded bytes as Envoy would send them decode into the right fields', () => {
  // CheckResponse { status { code: 7 }, error_response { body: "x" } }
  const res = fromBinary(
    CheckResponseSchema,
    bytes(0x0a, 0x02, 0x08, 0x07, 0x2a, 0x03, 0x1a, 0x01, 0x78),
  );
  assert.equal(res.status?.code, 7);
  assert.equal(res.httpResponse.case, 'errorResponse');
  assert.equal(res.httpResponse.value?.body, 'x');

  // CheckRequest { attributes { request { http { header_map(13) { headers { key "a" raw_value "b" } } } } tls_session(12) { sni "s" } } }
  const headerValue = [0x0a, 0x01, 0x61, 0x1a, 0x01, 0x62];
  const headerMap = [0x0a, headerValue.length, ...headerValue];
  const http = [0x6a, headerMap.length, ...headerMap];
  const request = [0x12, http.length, ...http];
  const attrs = [0x22, request.length, ...request, 0x62, 0x03, 0x0a, 0x01, 0x73];
  const req = fromBinary(CheckRequestSchema, bytes(0x0a, attrs.length, ...attrs));
  assert.equal(req.attributes?.request?.http?.headerMap?.headers[0]?.key, 'a');
  assert.deepEqual(req.attributes?.request?.http?.headerMap?.headers[0]?.rawValue, utf8('b'));
  assert.equal(req.attributes?.tlsSession?.sni, 's');
  // Unknown fields from a newer Envoy are kept, not dropped, and re-encoded verbatim.
  const withUnknown = bytes(0x0a, 0x00, 0xf2, 0x07, 0x01, 0x7a); // attributes {}, field 126 = "z"
  assert.deepEqual(
    toBinary(CheckRequestSchema, fromBinary(CheckRequestSchema, withUnknown)),
    withUnknown,
  );
});

test('AttributeContext JSON uses the protobuf JSON names', () => {
  const attrs = fullCheckRequest().attributes;
  assert.ok(attrs);
  const registry = createRegistry(HttpStatusSchema);
  const json = toJson(AttributeContextSchema, attrs, { registry }) as JsonObject;
  assert.deepEqual(Object.keys(json).sort(), [
    'contextExtensions',
    'destination',
    'metadataContext',
    'request',
    'routeMetadataContext',
    'source',
    'tlsSession',
  ]);
  const http = (json['request'] as JsonObject)['http'] as JsonObject;
  assert.ok('headerMap' in http);
  assert.equal(http['rawBody'], Buffer.from('{"name":"widget"}').toString('base64'));
  assert.equal(http['size'], '17'); // int64 is a JSON string
  assert.equal((json['request'] as JsonObject)['time'], '2023-11-14T22:13:20.123Z');
  assert.deepEqual((json['tlsSession'] as JsonObject)['sni'], 'app.example.com');
  const source = json['source'] as JsonObject;
  assert.deepEqual(
    ((source['address'] as JsonObject)['socketAddress'] as JsonObject)['portValue'],
    51234,
  );
  const routeMeta = json['routeMetadataContext'] as JsonObject;
  assert.deepEqual(routeMeta['typedFilterMetadata'], {
    gatehouse: { '@type': 'type.googleapis.com/envoy.type.v3.HttpStatus', code: 'Forbidden' },
  });
  // JSON round trip is lossless too.
  assert.ok(
    equals(AttributeContextSchema, attrs, fromJson(AttributeContextSchema, json, { registry })),
  );
});

test('DeniedHttpResponse status serialises as Envoy’s StatusCode enum name', () => {
  const denied = create(DeniedHttpResponseSchema, { status: { code: StatusCode.Found }, body: '' });
  assert.deepEqual(toJson(DeniedHttpResponseSchema, denied), { status: { code: 'Found' } });
  assert.equal(StatusCode.Unauthorized, 401);
  assert.equal(StatusCode.NetworkAuthenticationRequired, 511);
});

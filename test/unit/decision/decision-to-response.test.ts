import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { toJson } from '@bufbuild/protobuf';
import { normalizeDecision } from '../../../src/decision/normalize.js';
import { GatehouseError } from '../../../src/errors/gatehouse-error.js';
import { CheckResponseSchema } from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import {
  decisionToCheckResponse,
  errorToCheckResponse,
  isEnvoyHttpStatus,
} from '../../../src/response/check-response.js';
import { testdata } from '../../support/paths.js';

interface Case {
  name: string;
  decision: unknown;
  response?: unknown;
  reasons?: string[];
  error?: string;
}

const cases = JSON.parse(readFileSync(testdata('decisions', 'cases.json'), 'utf8')) as Case[];

for (const c of cases) {
  test(`decision: ${c.name}`, () => {
    const value = c.decision === '$undefined' ? undefined : c.decision;
    if (c.error !== undefined) {
      assert.throws(
        () => normalizeDecision(value, isEnvoyHttpStatus),
        (err: unknown) => err instanceof GatehouseError && err.code === c.error,
      );
      return;
    }
    const decision = normalizeDecision(value, isEnvoyHttpStatus);
    assert.deepEqual(toJson(CheckResponseSchema, decisionToCheckResponse(decision)), c.response);
    if (c.reasons) assert.deepEqual(decision.reasons, c.reasons);
  });
}

test('append is present on the wire even when false (Envoy versions differ on the default)', () => {
  const response = decisionToCheckResponse(
    normalizeDecision({ allowed: true, headers: { 'x-a': '1' } }, isEnvoyHttpStatus),
  );
  assert.equal(response.httpResponse.case, 'okResponse');
  const header =
    response.httpResponse.case === 'okResponse'
      ? response.httpResponse.value.headers[0]
      : undefined;
  assert.equal(header?.append, false);
});

test('an error becomes a deny with its documented statuses and code, never leaking the cause', () => {
  const error = new GatehouseError('ERR_POLICY_EVAL', {
    cause: new Error('secret detail: token=abc'),
  });
  const json = toJson(CheckResponseSchema, errorToCheckResponse(error, 'req-9')) as {
    status: { code: number };
    deniedResponse: { status: { code: string }; body: string };
  };
  assert.equal(json.status.code, 13);
  assert.equal(json.deniedResponse.status.code, 'InternalServerError');
  const body = JSON.parse(json.deniedResponse.body as string) as Record<string, string>;
  assert.equal(body['error'], 'ERR_POLICY_EVAL');
  assert.equal(body['request_id'], 'req-9');
  assert.doesNotMatch(json.deniedResponse.body as string, /secret|token=abc/);
});

// Issue 12 point 7: no header Gatehouse writes ever carries a control character, from any input,
// on any path: enforced where CheckResponses are built.
test('headers: a value with CR, LF, NUL or another control character is never written (allow, deny, local reply)', async () => {
  const { localReplyToCheckResponse } = await import('../../../src/response/check-response.js');
  const hostile = [
    'a\r\nset-cookie: x=1',
    'a\nb',
    'a\rb',
    'a\u0000b',
    'a\u0085b',
    'a\u2028b',
    'a\tb',
    'a\u007fb',
  ];
  for (const value of hostile) {
    // Built directly, not through normalizeDecision (which refuses some of these itself): this
    // is the last layer, and it must hold whatever reached it.
    const base = normalizeDecision({ allowed: true }, isEnvoyHttpStatus);
    const headers = [
      { name: 'x-a', value },
      { name: 'x-ok', value: 'fine' },
    ];
    const allow = decisionToCheckResponse(
      { ...base, headers },
      {
        requestHeaders: [{ name: 'x-gatehouse-user', value }],
        removeRequestHeaders: [],
        responseHeaders: [],
      },
    );
    const deny = decisionToCheckResponse(
      { ...base, allowed: false, headers },
      {
        requestHeaders: [],
        removeRequestHeaders: [],
        responseHeaders: [{ name: 'set-cookie', value }],
      },
    );
    const local = localReplyToCheckResponse({
      status: 401,
      headers: [
        ['www-authenticate', `Bearer realm="${value}"`],
        ['x-ok', 'fine'],
      ],
      body: '',
    });
    for (const response of [allow, deny, local]) {
      const headers =
        response.httpResponse.case === 'okResponse' ||
        response.httpResponse.case === 'deniedResponse'
          ? response.httpResponse.value.headers
          : [];
      assert.deepEqual(
        headers.map((h) => h.header?.key),
        ['x-ok'],
        JSON.stringify(value),
      );
      for (const h of headers) assert.doesNotMatch(h.header?.value ?? '', /[\u0000-\u001f\u007f]/);
    }
  }
  const badName = localReplyToCheckResponse({
    status: 302,
    headers: [
      ['location\r\nx', '/'],
      ['x-ok', 'fine'],
    ],
    body: '',
  });
  assert.equal(
    badName.httpResponse.case === 'deniedResponse' ? badName.httpResponse.value.headers.length : -1,
    1,
  );
});

// Found in review: a header dropped because it cannot be written must not leave the client's copy
// of that name in place, or a spoofed identity header (or the original cookie header, session
// cookie included) reaches the upstream.
test('headers: an upstream header that cannot be written is removed, not left as the client sent it', () => {
  const base = normalizeDecision({ allowed: true }, isEnvoyHttpStatus);
  for (const value of ['alice\u0085@example.com', 'a\tb', 'a\u2028b']) {
    const allow = decisionToCheckResponse(
      {
        ...base,
        headers: [
          { name: 'x-policy', value },
          { name: 'x-policy', value: 'fine' },
        ],
      },
      {
        requestHeaders: [
          { name: 'x-gatehouse-email', value },
          { name: 'cookie', value: `a=${value}` },
        ],
        removeRequestHeaders: [],
        responseHeaders: [],
      },
    );
    assert.equal(allow.httpResponse.case, 'okResponse');
    const ok = allow.httpResponse.value as {
      headers: { header?: { key: string } }[];
      headersToRemove: string[];
    };
    assert.deepEqual(
      ok.headers.map((h) => h.header?.key),
      [],
      JSON.stringify(value),
    );
    assert.deepEqual(
      [...ok.headersToRemove].sort(),
      ['cookie', 'x-gatehouse-email', 'x-policy'],
      JSON.stringify(value),
    );
  }
});

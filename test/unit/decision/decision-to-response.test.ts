import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { toJson } from '@bufbuild/protobuf';
import { normalizeDecision } from '../../../src/decision/normalize.js';
import { GatehouseError } from '../../../src/errors/gatehouse-error.js';
import { CheckResponseSchema } from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { decisionToCheckResponse, errorToCheckResponse, isEnvoyHttpStatus } from '../../../src/response/check-response.js';
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
      assert.throws(() => normalizeDecision(value, isEnvoyHttpStatus), (err: unknown) => err instanceof GatehouseError && err.code === c.error);
      return;
    }
    const decision = normalizeDecision(value, isEnvoyHttpStatus);
    assert.deepEqual(toJson(CheckResponseSchema, decisionToCheckResponse(decision)), c.response);
    if (c.reasons) assert.deepEqual(decision.reasons, c.reasons);
  });
}

test('append is present on the wire even when false (Envoy versions differ on the default)', () => {
  const response = decisionToCheckResponse(normalizeDecision({ allowed: true, headers: { 'x-a': '1' } }, isEnvoyHttpStatus));
  assert.equal(response.httpResponse.case, 'okResponse');
  const header = response.httpResponse.case === 'okResponse' ? response.httpResponse.value.headers[0] : undefined;
  assert.equal(header?.append, false);
});

test('an error becomes a deny with its documented statuses and code, never leaking the cause', () => {
  const error = new GatehouseError('ERR_POLICY_EVAL', { cause: new Error('secret detail: token=abc') });
  const json = toJson(CheckResponseSchema, errorToCheckResponse(error, 'req-9')) as Record<string, any>;
  assert.equal(json['status'].code, 13);
  assert.equal(json['deniedResponse'].status.code, 'InternalServerError');
  const body = JSON.parse(json['deniedResponse'].body as string) as Record<string, string>;
  assert.equal(body['error'], 'ERR_POLICY_EVAL');
  assert.equal(body['request_id'], 'req-9');
  assert.doesNotMatch(json['deniedResponse'].body as string, /secret|token=abc/);
});

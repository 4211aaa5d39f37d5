import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GatehouseError } from '../../../src/errors/gatehouse-error.js';
import {
  type BackchannelDeps,
  type BackchannelRequest,
  handleBackchannelLogout,
} from '../../../src/oidc/backchannel-endpoint.js';
import type { LocalReply } from '../../../src/pages/reply.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function post(body: string, headers: Record<string, string> = FORM): BackchannelRequest {
  return { method: 'POST', headers, body: Buffer.from(body) };
}

function header(reply: LocalReply, name: string): string | undefined {
  return reply.headers.find(([k]) => k === name)?.[1];
}

function deps(overrides: Partial<BackchannelDeps> = {}) {
  const revoked: unknown[] = [];
  const tokens: string[] = [];
  const d: BackchannelDeps = {
    verify: async (token) => {
      tokens.push(token);
      return { iss: 'https://idp.example', jti: 'j', sid: 's', sub: 'alice' };
    },
    revoke: async (target, reason) => {
      revoked.push({ target, reason });
    },
    ...overrides,
  };
  return { d, revoked, tokens };
}

describe('back-channel logout endpoint (§2.5, §2.8)', () => {
  test('a valid token: 200, no-store, revoked by sid and sub', async () => {
    const { d, revoked, tokens } = deps();
    const reply = await handleBackchannelLogout(post('logout_token=a.b.c'), d);
    assert.equal(reply.status, 200);
    assert.equal(header(reply, 'cache-control'), 'no-store');
    assert.deepEqual(tokens, ['a.b.c']);
    assert.deepEqual(revoked, [
      {
        target: { iss: 'https://idp.example', sid: 's', sub: 'alice' },
        reason: 'backchannel_logout',
      },
    ]);
  });

  test('a refused token: 400 invalid_request JSON, nothing revoked', async () => {
    const { d, revoked } = deps({
      verify: () => Promise.reject(new GatehouseError('ERR_LOGOUT_TOKEN_INVALID')),
    });
    const reply = await handleBackchannelLogout(post('logout_token=a.b.c'), d);
    assert.equal(reply.status, 400);
    assert.equal(header(reply, 'cache-control'), 'no-store');
    assert.equal(header(reply, 'content-type'), 'application/json');
    assert.equal((JSON.parse(reply.body) as { error: string }).error, 'invalid_request');
    assert.deepEqual(revoked, []);
  });

  test('malformed requests never reach the verifier', async () => {
    for (const request of [
      post('logout_token=a.b.c', { 'content-type': 'application/json' }),
      post('other=1'),
      post('logout_token=a.b.c&logout_token=d.e.f'),
      post('logout_token=a.b.c', { ...FORM, 'x-envoy-auth-partial-body': 'true' }),
      post('logout_token=a.b.c', { ...FORM, 'content-length': '9000' }),
      post('logout_token=%ZZ'),
    ]) {
      const { d, tokens } = deps();
      const reply = await handleBackchannelLogout(request, d);
      assert.equal(reply.status, 400, JSON.stringify(request.headers));
      assert.deepEqual(tokens, []);
    }
  });

  test('only POST', async () => {
    const { d } = deps();
    const reply = await handleBackchannelLogout({ ...post(''), method: 'GET' }, d);
    assert.equal(reply.status, 405);
    assert.equal(header(reply, 'allow'), 'POST');
  });

  test('no IdP keys: 503 temporarily_unavailable; a failed revocation: 500', async () => {
    const down = deps({
      verify: () => Promise.reject(new GatehouseError('ERR_JWKS_UNAVAILABLE')),
    });
    const a = await handleBackchannelLogout(post('logout_token=a.b.c'), down.d);
    assert.equal(a.status, 503);
    assert.equal((JSON.parse(a.body) as { error: string }).error, 'temporarily_unavailable');
    const broken = deps({ revoke: () => Promise.reject(new Error('store down')) });
    const b = await handleBackchannelLogout(post('logout_token=a.b.c'), broken.d);
    assert.equal(b.status, 500);
  });
});

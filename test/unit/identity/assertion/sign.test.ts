import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { signAssertion } from '../../../../src/identity/assertion/sign.js';
import type { AuthenticatedIdentity } from '../../../../src/input/types.js';
import { headerOf, NOW, NOW_S, ringOf } from '../../keys/support.js';

const ring = await ringOf('p256.pem', 'p256-old.pem');
const IDENTITY: AuthenticatedIdentity = Object.freeze({
  authenticated: true,
  method: 'session',
  sub: 'alice-123',
  email: 'alice@example.com',
  email_verified: true,
  name: 'Alice',
  groups: ['admins', 'dev'],
  claims: {},
  session_id: 'AAAAAAAAAAAAAAAAAAAAAA',
  issued_at: NOW_S,
  expires_at: NOW_S + 3600,
});

test('assertion: an upstream verifies it against the published JWKS', async () => {
  const jwt = await signAssertion(ring, {
    issuer: 'https://auth.example.com',
    audience: 'app.example.com',
    identity: IDENTITY,
    now: NOW,
  });
  const jwks = createLocalJWKSet(JSON.parse(JSON.stringify(ring.jwks)) as { keys: [] });
  const { payload, protectedHeader } = await jwtVerify(jwt, jwks, {
    issuer: 'https://auth.example.com',
    audience: 'app.example.com',
    algorithms: ['ES256'],
    currentDate: NOW,
  });
  assert.deepEqual(protectedHeader, { alg: 'ES256', kid: ring.signing.kid, typ: 'JWT' });
  assert.equal(payload.sub, 'alice-123');
  assert.equal(payload['email'], 'alice@example.com');
  assert.deepEqual(payload['groups'], ['admins', 'dev']);
  assert.equal(payload['sid'], 'AAAAAAAAAAAAAAAAAAAAAA');
  assert.equal(payload.iat, NOW_S);
  assert.equal(payload.exp, NOW_S + 300);
  assert.match(payload.jti ?? '', /^[A-Za-z0-9_-]{22}$/);
});

test('assertion: every assertion has a fresh jti', async () => {
  const a = await signAssertion(ring, {
    issuer: 'gh',
    audience: 'app',
    identity: IDENTITY,
    now: NOW,
  });
  const b = await signAssertion(ring, {
    issuer: 'gh',
    audience: 'app',
    identity: IDENTITY,
    now: NOW,
  });
  assert.notEqual(
    JSON.parse(Buffer.from(a.split('.')[1]!, 'base64url').toString())['jti'],
    JSON.parse(Buffer.from(b.split('.')[1]!, 'base64url').toString())['jti'],
  );
});

test('assertion: jtis stay distinct and whole across refills of the random pool', async () => {
  // The pool holds 256 ids: 600 assertions draw across two refills.
  const jtis = new Set<string>();
  for (let i = 0; i < 600; i++) {
    const jwt = await signAssertion(ring, { issuer: 'gh', audience: 'app', identity: IDENTITY });
    const jti = String(JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString())['jti']);
    assert.match(jti, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(Buffer.from(jti, 'base64url').length, 16);
    jtis.add(jti);
  }
  assert.equal(jtis.size, 600);
});

test('assertion: a bearer identity has no sid, and null email/name are left out', async () => {
  const jwt = await signAssertion(ring, {
    issuer: 'gh',
    audience: 'app',
    identity: { ...IDENTITY, method: 'bearer', session_id: null, email: null, name: null },
    ttlSeconds: 60,
    now: NOW,
  });
  const payload = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<
    string,
    unknown
  >;
  assert.equal(Object.hasOwn(payload, 'sid'), false);
  assert.equal(Object.hasOwn(payload, 'email'), false);
  assert.equal(Object.hasOwn(payload, 'name'), false);
  assert.equal(payload['auth'], 'bearer');
  assert.equal(payload['exp'], NOW_S + 60);
  assert.equal(headerOf(jwt)['typ'], 'JWT');
});

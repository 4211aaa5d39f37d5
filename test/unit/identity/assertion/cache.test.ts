import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeJwt } from 'jose';
import { AssertionCache, assertionKey } from '../../../../src/identity/assertion/cache.js';
import { signAssertion } from '../../../../src/identity/assertion/sign.js';
import type { AuthenticatedIdentity } from '../../../../src/input/types.js';
import { NOW, NOW_S, ringOf } from '../../keys/support.js';

const ring = await ringOf('p256.pem');
const TTL = 300;
const ALICE: AuthenticatedIdentity = Object.freeze({
  authenticated: true,
  method: 'bearer',
  sub: 'alice',
  email: 'alice@example.com',
  email_verified: true,
  name: 'Alice',
  groups: ['reader'],
  claims: {},
  session_id: null,
  issued_at: NOW_S,
  expires_at: NOW_S + 3600,
});

function setup() {
  const clock = { ms: NOW.getTime() };
  let signed = 0;
  const cache = new AssertionCache({ ttlSeconds: TTL, now: () => clock.ms });
  const get = (credential: string, host: string) =>
    cache.get(credential, host, (now) => {
      signed++;
      return signAssertion(ring, {
        issuer: 'gatehouse',
        audience: host,
        identity: ALICE,
        ttlSeconds: TTL,
        now,
      });
    }) as Promise<string>;
  return { clock, cache, get, signed: () => signed };
}

test('assertion cache: a reused assertion is for the same sub and aud, until half its lifetime', async () => {
  const { clock, get, signed } = setup();
  const first = await get('cred-1', 'app.example.com');
  const again = await get('cred-1', 'app.example.com');
  assert.equal(again, first);
  assert.equal(signed(), 1);
  const claims = decodeJwt(again);
  assert.equal(claims.sub, 'alice');
  assert.equal(claims.aud, 'app.example.com');
  assert.equal(claims.iat, NOW_S);
  assert.equal(claims.exp, NOW_S + TTL);

  // Another host or another credential: its own assertion, with its own aud.
  const other = await get('cred-1', 'other.example.com');
  assert.notEqual(other, first);
  assert.equal(decodeJwt(other).aud, 'other.example.com');
  assert.notEqual(await get('cred-2', 'app.example.com'), first);
  assert.equal(signed(), 3);

  // Just before half-life: still reused (more than half its lifetime left).
  clock.ms = (NOW_S + TTL / 2) * 1000 - 1;
  assert.equal(await get('cred-1', 'app.example.com'), first);
  assert.equal(signed(), 3);

  // At half-life: a new one is signed, with a fresh jti and iat.
  clock.ms = (NOW_S + TTL / 2) * 1000;
  const renewed = await get('cred-1', 'app.example.com');
  assert.equal(signed(), 4);
  assert.notEqual(renewed, first);
  const next = decodeJwt(renewed);
  assert.equal(next.sub, 'alice');
  assert.equal(next.aud, 'app.example.com');
  assert.equal(next.iat, NOW_S + TTL / 2);
  assert.notEqual(next.jti, claims.jti);
  assert.equal(await get('cred-1', 'app.example.com'), renewed);
});

test('assertion cache: concurrent Checks share one signing; a failed signing is not cached', async () => {
  const { get, signed } = setup();
  const all = await Promise.all(Array.from({ length: 20 }, () => get('cred', 'app')));
  assert.equal(new Set(all).size, 1);
  assert.equal(signed(), 1);

  let attempts = 0;
  const cache = new AssertionCache({ ttlSeconds: TTL, now: () => NOW.getTime() });
  const failing = () =>
    cache.get('c', 'h', () => {
      attempts++;
      return Promise.reject(new Error('no key'));
    });
  await assert.rejects(failing());
  await assert.rejects(failing());
  assert.equal(attempts, 2);
});

test('assertion cache: bounded', async () => {
  const cache = new AssertionCache({ ttlSeconds: TTL, capacity: 10, now: () => NOW.getTime() });
  for (let i = 0; i < 100; i++) await cache.get(`cred-${i}`, 'h', async () => `jwt-${i}`);
  assert.equal(cache.size, 10);
});

test("assertion cache: a user's new token reuses their assertion; any asserted field that differs gets its own", async () => {
  const clock = { ms: NOW.getTime() };
  const cache = new AssertionCache({ ttlSeconds: TTL, now: () => clock.ms });
  let signed = 0;
  const get = (identity: AuthenticatedIdentity, host = 'app.example.com') =>
    cache.get(assertionKey(identity), host, (now) => {
      signed++;
      return signAssertion(ring, {
        issuer: 'gatehouse',
        audience: host,
        identity,
        ttlSeconds: TTL,
        now,
      });
    }) as Promise<string>;

  const first = await get(ALICE);
  // A new access token for the same user: other `iat`/`exp`/claims the assertion does not carry.
  const newToken: AuthenticatedIdentity = {
    ...ALICE,
    issued_at: NOW_S + 60,
    expires_at: NOW_S + 7200,
    claims: { jti: 'other-token' },
  };
  assert.equal(await get(newToken), first);
  assert.equal(signed, 1);

  // Each field the assertion carries is part of the key: a change is never masked by reuse.
  const variants: AuthenticatedIdentity[] = [
    { ...ALICE, sub: 'mallory' },
    { ...ALICE, email: 'mallory@example.com' },
    { ...ALICE, email: null },
    { ...ALICE, email_verified: false },
    { ...ALICE, name: 'Mallory' },
    { ...ALICE, name: null },
    { ...ALICE, groups: ['reader', 'admin'] },
    { ...ALICE, groups: [] },
    { ...ALICE, session_id: 'sid-1' },
    { ...ALICE, method: 'session' },
  ];
  for (const variant of variants) {
    const jwt = await get(variant);
    assert.notEqual(jwt, first);
    const claims = decodeJwt(jwt);
    assert.equal(claims.sub, variant.sub);
    assert.deepEqual(claims['groups'], variant.groups);
    assert.equal(claims['auth'], variant.method);
  }
  assert.equal(signed, 1 + variants.length);
  assert.equal(new Set(variants.map(assertionKey)).size, variants.length);

  // Another host: its own assertion.
  assert.equal(decodeJwt(await get(ALICE, 'other.example.com')).aud, 'other.example.com');
});

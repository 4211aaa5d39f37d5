import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VerifiedClaims } from '../../../src/identity/bearer/verify.js';
import { GatehouseError } from '../../../src/errors/gatehouse-error.js';
import { resolveIdentity, type ResolvedIdentity } from '../../../src/identity/resolve.js';
import { credentialKey, VerifiedCache } from '../../../src/identity/verified-cache.js';
import { issueSession } from '../../../src/identity/session/issue.js';
import { verifySession } from '../../../src/identity/session/verify.js';
import { NOW, NOW_S, ringOf, SESSION_KEY } from '../keys/support.js';
import { ALICE_WITH_SECRETS } from './session/support.js';

const ring = await ringOf('p256.pem');
const COOKIE = '__Host-gatehouse';
const TTL = 3600;
const sessionToken = await issueSession(ring, SESSION_KEY, ALICE_WITH_SECRETS, {
  ttlSeconds: TTL,
  now: NOW,
});
const EXP = NOW_S + TTL;

/** A session resolver whose verifier and cache share one settable clock. */
function sessionSetup(tolerance: number) {
  const clock = { ms: NOW.getTime() };
  const calls = { verify: 0 };
  const cache = {
    session: new VerifiedCache<ResolvedIdentity>({
      clockToleranceSeconds: tolerance,
      now: () => clock.ms,
    }),
  };
  const resolve = (token: string) =>
    resolveIdentity({
      headers: { cookie: `${COOKIE}=${token}` },
      cookieName: COOKIE,
      verifySession: (t) => {
        calls.verify++;
        return verifySession(ring, SESSION_KEY, t, {
          now: new Date(clock.ms),
          clockToleranceSeconds: tolerance,
        });
      },
      cache,
    });
  return { clock, calls, cache, resolve };
}

for (const tolerance of [0, 30]) {
  test(`verified cache: a cached session stops working exactly at exp (clock tolerance ${tolerance} s), as an uncached one does`, async () => {
    const { clock, calls, resolve } = sessionSetup(tolerance);
    const first = await resolve(sessionToken);
    assert.equal(first.identity.authenticated, true);
    assert.equal(calls.verify, 1);
    assert.equal(first.credential, credentialKey(sessionToken));

    // The last millisecond it is valid: served from the cache, no verification.
    clock.ms = (EXP + tolerance) * 1000 - 1;
    const last = await resolve(sessionToken);
    assert.equal(last, first, 'the same resolution, from the cache');
    assert.equal(calls.verify, 1);

    // Exactly at exp (+ tolerance): the entry is gone; the verifier decides (expired → refresh path).
    clock.ms = (EXP + tolerance) * 1000;
    const expired = await resolve(sessionToken);
    assert.equal(calls.verify, 2, 'verified afresh, not served from the cache');
    assert.equal(expired.identity.authenticated, false);
    assert.equal(expired.error?.code, 'ERR_SESSION_EXPIRED');
    assert.equal(expired.session?.expired, true);
    // And it stays refused (failures are never cached, the expired entry never comes back).
    await resolve(sessionToken);
    assert.equal(calls.verify, 3);
  });
}

test('verified cache: a token differing in any one byte is never served from the cache', async () => {
  const { calls, resolve } = sessionSetup(30);
  assert.equal((await resolve(sessionToken)).identity.authenticated, true);
  assert.equal(calls.verify, 1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
  let expected = 1;
  for (let i = 0; i < sessionToken.length; i++) {
    const c = sessionToken[i] as string;
    const other = alphabet[(alphabet.indexOf(c) + 1) % alphabet.length] as string;
    const changed = sessionToken.slice(0, i) + other + sessionToken.slice(i + 1);
    assert.notEqual(credentialKey(changed), credentialKey(sessionToken));
    await resolve(changed);
    expected++;
    assert.equal(calls.verify, expected, `byte ${i} changed: must go to the verifier`);
  }
  // The original is still served from the cache.
  await resolve(sessionToken);
  assert.equal(calls.verify, expected);
});

test('verified cache: bearer tokens — hits skip the verifier, failures are never cached, a changed byte is verified', async () => {
  const claims: VerifiedClaims = {
    iss: 'https://idp',
    sub: 'svc',
    iat: NOW_S,
    exp: NOW_S + 60,
    groups: ['robots'],
  };
  let calls = 0;
  const cache = {
    bearer: new VerifiedCache<string>({
      clockToleranceSeconds: 0,
      now: () => NOW.getTime(),
    }),
  };
  const resolve = (token: string) =>
    resolveIdentity({
      headers: { authorization: `Bearer ${token}` },
      cookieName: COOKIE,
      verifySession: () => Promise.reject(new Error('unused')),
      verifyBearer: async (t) => {
        calls++;
        if (t !== 'good.bearer.token') throw new GatehouseError('ERR_TOKEN_INVALID');
        return claims;
      },
      cache,
    });
  const a = await resolve('good.bearer.token');
  const b = await resolve('good.bearer.token');
  assert.equal(calls, 1);
  // The cache keeps the claims as JSON text; a hit derives the same identity from them again.
  assert.deepEqual(b, a);
  assert.ok(b.identity.authenticated && b.identity.sub === 'svc');
  assert.ok(Object.isFrozen(b) && Object.isFrozen(b.identity));
  assert.equal(b.credential, credentialKey('good.bearer.token'));
  for (let i = 0; i < 3; i++)
    assert.equal((await resolve('good.bearer.tokeN')).identity.authenticated, false);
  assert.equal(calls, 4, 'each refused token went to the verifier');
  assert.equal(cache.bearer.size, 1);
});

test('verified cache: a bearer hit derives the identity a miss gave, from the claims kept as JSON', async () => {
  const claims = JSON.parse(
    JSON.stringify({
      iss: 'https://idp',
      sub: 'ü-7',
      iat: NOW_S,
      exp: NOW_S + 60,
      auth_time: NOW_S - 5,
      acr: 'mfa',
      amr: ['pwd', 'otp'],
      email: 'a@example.com',
      email_verified: true,
      realm_access: { roles: ['admins', '', 7, 'staff'] },
      big: 2 ** 64,
      nested: { list: [null, true, 1.5, { deep: 'x' }] },
    }).replace('"nested"', '"__proto__":{"polluted":true},"nested"'),
  ) as VerifiedClaims;
  const cache = { bearer: new VerifiedCache<string>({ now: () => NOW.getTime() }) };
  let calls = 0;
  const resolve = () =>
    resolveIdentity({
      headers: { authorization: 'Bearer a.b.c' },
      cookieName: COOKIE,
      verifySession: () => Promise.reject(new Error('unused')),
      verifyBearer: async () => {
        calls++;
        return claims;
      },
      groupsClaim: 'realm_access.roles',
      cache,
    });
  const miss = await resolve();
  const hit = await resolve();
  assert.equal(calls, 1);
  assert.deepEqual(hit, miss);
  assert.ok(hit.identity.authenticated);
  assert.deepEqual(hit.identity.groups, ['admins', 'staff']);
  assert.equal(Object.hasOwn(hit.identity.claims, '__proto__'), true, 'an own key, as parsed');
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

test('verified cache: the capacity bound holds (least recently used evicted)', () => {
  const cache = new VerifiedCache<number>({ capacity: 100, now: () => NOW.getTime() });
  cache.set(credentialKey('token-0'), 0, NOW_S + 60);
  for (let i = 1; i < 1000; i++) {
    cache.set(credentialKey(`token-${i}`), i, NOW_S + 60);
    assert.equal(cache.get(credentialKey('token-0')), 0, 'kept while used'); // touch: most recently used
    assert.ok(cache.size <= 100);
  }
  // A full cache sheds a 64th of its capacity at once (src/cache/trim.ts): 99 or 100 here.
  assert.ok(cache.size >= 99, `${cache.size} entries`);
  assert.equal(cache.get(credentialKey('token-1')), undefined, 'least recently used: evicted');
  assert.equal(cache.get(credentialKey('token-999')), 999);
  // A value already expired is never stored.
  cache.set(credentialKey('old'), 1, NOW_S - 31);
  assert.equal(cache.get(credentialKey('old')), undefined);
  assert.equal(new VerifiedCache<number>({ capacity: 0 }).size, 0);
});

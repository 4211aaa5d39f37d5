/**
 * Server-side sessions (src/identity/session/book.ts) on a real memory store and cache: the
 * cookie is a small handle, the record is in the store, and revocation, idle timeout, absolute
 * lifetime and refresh races are decided there.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SessionExpiredError } from '../../../../src/identity/session/verify.js';
import { SESSION_HANDLE_TYP } from '../../../../src/identity/session/handle.js';
import { MemoryStore } from '../../../../src/store/memory.js';
import { SessionCache } from '../../../../src/store/cache.js';
import { createSessionBook } from '../../../../src/identity/session/book.js';
import { memorySessions } from '../../../support/sessions.js';
import { headerOf, payloadOf, rejectsWithCode, ringOf } from '../../keys/support.js';
import { ALICE, ALICE_WITH_SECRETS } from './support.js';

const ring = await ringOf('p256.pem');

test('sessions: the cookie is a small signed handle (sid, iat, exp) whatever the session holds', async () => {
  const s = memorySessions(ring);
  const groups = Array.from({ length: 500 }, (_, i) => `group-${i}-with-a-long-name`);
  const big = { ...ALICE_WITH_SECRETS, groups, id_token: 'x'.repeat(3000) };
  const { cookieValue, session } = await s.book.issue(big);
  assert.ok(cookieValue.length < 400, `handle is ${cookieValue.length} bytes`);
  assert.equal(headerOf(cookieValue)['typ'], SESSION_HANDLE_TYP);
  assert.deepEqual(Object.keys(payloadOf(cookieValue)).sort(), ['aud', 'exp', 'iat', 'iss', 'sid']);
  const verified = await s.book.verify(cookieValue);
  assert.equal(verified.sid, session.sid);
  assert.equal(verified.groups.length, 500);
  assert.equal(verified.refresh_token, ALICE_WITH_SECRETS.refresh_token);
  assert.equal(verified.claims['nonce'], undefined, 'per-token claims are not kept');
  await s.close();
});

test('sessions: a revoked session is refused on another replica sharing the store (change feed)', async () => {
  const store = new MemoryStore();
  const replica = () => {
    const cache = new SessionCache(store, { maxEntries: 100, staleWindowMs: 5000 });
    return createSessionBook({
      ring,
      store,
      cache,
      ttlSeconds: 3600,
      absoluteLifetimeSeconds: 86400,
      idleTimeoutSeconds: 0,
      touchIntervalMs: 60_000,
      clockToleranceSeconds: 30,
    });
  };
  const a = replica();
  const b = replica();
  const { cookieValue } = await a.issue(ALICE);
  // Both replicas have it cached.
  assert.equal((await a.verify(cookieValue)).sub, ALICE.sub);
  assert.equal((await b.verify(cookieValue)).sub, ALICE.sub);
  const copy = cookieValue;
  assert.equal(await a.revoke((await a.verify(cookieValue)).sid), true);
  await rejectsWithCode(b.verify(copy), 'ERR_SESSION_REVOKED');
  await rejectsWithCode(a.verify(copy), 'ERR_SESSION_REVOKED');
  await store.close();
});

test('sessions: a handle from another ring, or a full session JWT, is not a session', async () => {
  const s = memorySessions(ring);
  const other = memorySessions(await ringOf('p384.pem'));
  const { cookieValue } = await other.book.issue(ALICE);
  await rejectsWithCode(s.book.verify(cookieValue), 'ERR_SESSION_INVALID');
  await rejectsWithCode(s.book.verify('not.a.jwt'), 'ERR_SESSION_INVALID');
  await s.close();
  await other.close();
});

test('sessions: past ttl the session is authentic but expired (refresh due); past the absolute lifetime it is over', async () => {
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const s = memorySessions(ring, {
    now: () => clock,
    ttlSeconds: 600,
    absoluteLifetimeSeconds: 3600,
  });
  const { cookieValue } = await s.book.issue(ALICE_WITH_SECRETS);
  clock += 700_000;
  await assert.rejects(s.book.verify(cookieValue), (err: unknown) => {
    assert.ok(err instanceof SessionExpiredError);
    assert.equal(err.session.refresh_token, ALICE_WITH_SECRETS.refresh_token);
    return true;
  });
  clock += 3600_000;
  // The handle itself has expired (and the store forgot the record).
  await rejectsWithCode(s.book.verify(cookieValue), 'ERR_SESSION_EXPIRED');
  await s.close();
});

test('sessions: idle timeout ends a session unused for that long, unless another replica saw it (fresh re-read)', async () => {
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const now = () => clock;
  const store = new MemoryStore({ now });
  const replica = () =>
    createSessionBook({
      ring,
      store,
      cache: new SessionCache(store, { maxEntries: 100, staleWindowMs: 5000, now }),
      ttlSeconds: 3600 * 8,
      absoluteLifetimeSeconds: 86400,
      idleTimeoutSeconds: 600,
      touchIntervalMs: 60_000,
      clockToleranceSeconds: 30,
      now,
    });
  const a = replica();
  const b = replica();
  const { cookieValue } = await a.issue(ALICE);
  await a.verify(cookieValue); // cached on a
  // Used on b every 5 minutes for 20 minutes: a's cached copy looks idle, the store knows better.
  for (let i = 0; i < 4; i++) {
    clock += 300_000;
    await b.verify(cookieValue);
    await new Promise((r) => setImmediate(r)); // the touch is written in the background
  }
  assert.equal((await a.verify(cookieValue)).sub, ALICE.sub, 'not idle: b used it');
  clock += 601_000;
  await rejectsWithCode(a.verify(cookieValue), 'ERR_SESSION_EXPIRED');
  // Ended for everyone: the record was revoked.
  await rejectsWithCode(b.verify(cookieValue), 'ERR_SESSION_REVOKED');
  await store.close();
});

test('sessions: touches are throttled (at most one per interval per session)', async () => {
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const s = memorySessions(ring, { now: () => clock, touchIntervalMs: 60_000 });
  let touches = 0;
  const touch = s.store.touch.bind(s.store);
  s.store.touch = (sid, at) => {
    touches++;
    return touch(sid, at);
  };
  const { cookieValue } = await s.book.issue(ALICE);
  for (let i = 0; i < 50; i++) {
    clock += 1000;
    await s.book.verify(cookieValue);
  }
  assert.equal(touches, 0, 'no touch within a minute of sign-in');
  clock += 60_000;
  await s.book.verify(cookieValue);
  await s.book.verify(cookieValue);
  assert.equal(touches, 1);
  await s.close();
});

test('sessions: a refresh lost to another replica reuses the winner record, never signs out', async () => {
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const now = () => clock;
  const store = new MemoryStore({ now });
  const replica = () =>
    createSessionBook({
      ring,
      store,
      cache: new SessionCache(store, { maxEntries: 100, staleWindowMs: 5000, now }),
      ttlSeconds: 600,
      absoluteLifetimeSeconds: 86400,
      idleTimeoutSeconds: 0,
      touchIntervalMs: 60_000,
      clockToleranceSeconds: 0,
      now,
      refreshLockMs: 2000,
    });
  const a = replica();
  const b = replica();
  const { cookieValue } = await a.issue(ALICE_WITH_SECRETS);
  clock += 700_000;
  const expired = await a.verify(cookieValue).then(
    () => assert.fail('expected expired'),
    (err: unknown) => (err as SessionExpiredError).session,
  );
  let grants = 0;
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const winner = a.refresh(expired, async () => {
    grants++;
    await held;
    return { ...ALICE_WITH_SECRETS, groups: ['renewed'], refresh_token: 'rt-2' };
  });
  const loser = b.refresh(expired, async () => {
    grants++;
    return { ...ALICE_WITH_SECRETS, groups: ['loser'] };
  });
  setTimeout(release, 150);
  const [w, l] = await Promise.all([winner, loser]);
  assert.equal(grants, 1, 'one refresh grant');
  assert.deepEqual(w?.session.groups, ['renewed']);
  assert.deepEqual(l?.session.groups, ['renewed'], 'the loser got the winner record');
  assert.equal(l?.session.sid, expired.sid);
  // The renewed session is live on both, through either cookie.
  assert.deepEqual((await b.verify(cookieValue)).groups, ['renewed']);
  assert.ok(w !== undefined);
  assert.equal((await a.verify(w.cookieValue)).refresh_token, 'rt-2');
  await store.close();
});

test('sessions: a refresh never brings back a session revoked meanwhile', async () => {
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const s = memorySessions(ring, { now: () => clock, ttlSeconds: 600, clockToleranceSeconds: 0 });
  const { cookieValue, session } = await s.book.issue(ALICE_WITH_SECRETS);
  clock += 700_000;
  await s.book.revoke(session.sid);
  await rejectsWithCode(
    s.book.refresh({ ...session, exp: session.exp }, async () => ALICE_WITH_SECRETS),
    'ERR_SESSION_REVOKED',
  );
  await rejectsWithCode(s.book.verify(cookieValue), 'ERR_SESSION_REVOKED');
  await s.close();
});

test('sessions: the store unreachable: a cached session is served (stale window), an uncached one is ERR_SESSION_STORE_UNAVAILABLE', async () => {
  const s = memorySessions(ring);
  const cached = await s.book.issue(ALICE);
  const uncached = await s.book.issue(ALICE);
  await s.book.verify(cached.cookieValue);
  s.cache.forget(uncached.session.sid);
  await s.store.close();
  assert.equal((await s.book.verify(cached.cookieValue)).sub, ALICE.sub);
  assert.equal(s.cache.status().serving, 'stale');
  await rejectsWithCode(s.book.verify(uncached.cookieValue), 'ERR_SESSION_STORE_UNAVAILABLE');
  s.cache.close();
});

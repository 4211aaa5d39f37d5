/**
 * The cache of verified session handles (src/identity/session/handle-cache.ts) and the session
 * book's use of it: a cached handle is served only while a fresh verification would accept it,
 * and the record is still looked up on every Check (revocation, device-proof rotation).
 *
 * "Served from the cache" is proved with a ring whose key object stays in place while its public
 * half is swapped for another key's: a fresh verification then fails, only a cache hit succeeds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CryptoKey } from 'jose';
import { VerifiedHandles } from '../../../../src/identity/session/handle-cache.js';
import {
  issueSessionHandle,
  verifySessionHandle,
} from '../../../../src/identity/session/handle.js';
import { newSessionId } from '../../../../src/identity/session/issue.js';
import type { KeyRing, VerificationKey } from '../../../../src/keys/key-ring.js';
import { memorySessions } from '../../../support/sessions.js';
import { NOW, NOW_S, at, rejectsWithCode, ringOf } from '../../keys/support.js';
import { ALICE } from './support.js';

const TOLERANCE = 30;
const base = await ringOf('p256.pem', 'p256-old.pem');
const old = await ringOf('p256-old.pem');
const stranger = await ringOf('p256-old.pem');

/** A mutable key entry (the ring's own objects are frozen in spirit; tests need to swap). */
type MutableKey = { alg: VerificationKey['alg']; publicKey: CryptoKey };

/** `base` with its own verification map of mutable key objects, which tests edit. */
function liveRing(): { ring: KeyRing; keys: Map<string, MutableKey> } {
  const keys = new Map<string, MutableKey>();
  for (const [kid, key] of base.verification) keys.set(kid, { ...key });
  return { ring: { ...base, verification: keys }, keys };
}

/** Make every fresh verification under `kid` fail, leaving the key object (and so cache hits). */
function breakFreshVerification(keys: Map<string, MutableKey>, kid: string): void {
  const key = keys.get(kid);
  assert.ok(key);
  const other = [...stranger.verification.values()][0];
  assert.ok(other);
  key.publicKey = other.publicKey;
}

async function handle(
  ring: KeyRing,
  times: { iat: number; exp: number },
  sid = newSessionId(),
): Promise<string> {
  return issueSessionHandle(ring, sid, times);
}

test('handle cache: a second presentation is served from the cache (no signature verification)', async () => {
  const { ring, keys } = liveRing();
  const handles = new VerifiedHandles(ring, { clockToleranceSeconds: TOLERANCE });
  const token = await handle(ring, { iat: NOW_S, exp: NOW_S + 3600 });
  const first = await handles.verify(token, NOW);
  breakFreshVerification(keys, ring.signing.kid);
  await rejectsWithCode(
    verifySessionHandle(ring, token, { now: NOW, clockToleranceSeconds: TOLERANCE }),
    'ERR_SESSION_INVALID',
  );
  const second = await handles.verify(token, at(60));
  assert.deepEqual(second, first);
  assert.equal(handles.size, 1);
});

test('handle cache: a cached handle expires at exactly the instant a fresh verification refuses it', async () => {
  const { ring } = liveRing();
  const exp = NOW_S + 600;
  const token = await handle(ring, { iat: NOW_S, exp });
  const handles = new VerifiedHandles(ring, { clockToleranceSeconds: TOLERANCE });
  await handles.verify(token, NOW);
  const fresh = (date: Date) =>
    verifySessionHandle(ring, token, { now: date, clockToleranceSeconds: TOLERANCE });
  // The last millisecond a fresh verification accepts: the cache still serves it.
  const lastOk = new Date((exp + TOLERANCE) * 1000 - 1);
  assert.equal((await fresh(lastOk)).exp, exp);
  assert.equal((await handles.verify(token, lastOk)).exp, exp);
  // The first millisecond it refuses: the cache refuses it too, with the same code.
  const firstRefused = new Date((exp + TOLERANCE) * 1000);
  await rejectsWithCode(fresh(firstRefused), 'ERR_SESSION_EXPIRED');
  await rejectsWithCode(handles.verify(token, firstRefused), 'ERR_SESSION_EXPIRED');
  assert.equal(handles.size, 0, 'the expired entry is dropped, the refusal not cached');
});

test('handle cache: an expired cached handle is refused even when a fresh verification would fail differently', async () => {
  // Proves the hit path itself checks exp (the fresh path is broken, so no hit can hide behind it).
  const { ring, keys } = liveRing();
  const exp = NOW_S + 600;
  const token = await handle(ring, { iat: NOW_S, exp });
  const handles = new VerifiedHandles(ring, { clockToleranceSeconds: TOLERANCE });
  await handles.verify(token, NOW);
  breakFreshVerification(keys, ring.signing.kid);
  assert.equal((await handles.verify(token, new Date((exp + TOLERANCE) * 1000 - 1))).exp, exp);
  await rejectsWithCode(
    handles.verify(token, new Date((exp + TOLERANCE) * 1000)),
    'ERR_SESSION_INVALID',
  );
});

test('handle cache: a tampered cookie is never served from the cache, and its refusal is not cached', async () => {
  const { ring } = liveRing();
  const token = await handle(ring, { iat: NOW_S, exp: NOW_S + 3600 });
  const handles = new VerifiedHandles(ring, { clockToleranceSeconds: TOLERANCE });
  await handles.verify(token, NOW);
  const [h, p, s] = token.split('.') as [string, string, string];
  const otherSid = Buffer.from(
    JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sid: newSessionId() }),
  ).toString('base64url');
  const flipped = `${s.slice(0, -2)}${s.at(-2) === 'A' ? 'B' : 'A'}${s.at(-1)}`;
  for (const tampered of [
    `${h}.${otherSid}.${s}`,
    `${h}.${p}.${flipped}`,
    `${token} `,
    `${token}.`,
    token.toUpperCase(),
  ]) {
    for (let i = 0; i < 2; i++)
      await rejectsWithCode(handles.verify(tampered, NOW), 'ERR_SESSION_INVALID');
  }
  assert.equal(handles.size, 1, 'only the authentic handle is held');
  assert.equal((await handles.verify(token, NOW)).exp, NOW_S + 3600);
});

test('handle cache: a kid removed from the ring is refused at once, cached or not', async () => {
  const { ring, keys } = liveRing();
  const oldKid = [...old.verification.keys()][0];
  assert.ok(oldKid && oldKid !== ring.signing.kid);
  const token = await handle(old, { iat: NOW_S, exp: NOW_S + 3600 });
  const handles = new VerifiedHandles(ring, { clockToleranceSeconds: TOLERANCE });
  assert.equal((await handles.verify(token, NOW)).exp, NOW_S + 3600);
  keys.delete(oldKid);
  await rejectsWithCode(handles.verify(token, NOW), 'ERR_SESSION_INVALID');
  assert.equal(handles.size, 0);
});

test('handle cache: a kid whose key was replaced by another is not served from the cache', async () => {
  const { ring, keys } = liveRing();
  const token = await handle(ring, { iat: NOW_S, exp: NOW_S + 3600 });
  const handles = new VerifiedHandles(ring, { clockToleranceSeconds: TOLERANCE });
  await handles.verify(token, NOW);
  const kid = ring.signing.kid;
  const replaced = keys.get(kid);
  assert.ok(replaced);
  const other = [...stranger.verification.values()][0];
  assert.ok(other);
  keys.set(kid, { alg: replaced.alg, publicKey: other.publicKey });
  await rejectsWithCode(handles.verify(token, NOW), 'ERR_SESSION_INVALID');
});

test('handle cache: a handle with iat in the future beyond the tolerance is refused (clock went back)', async () => {
  const { ring } = liveRing();
  const token = await handle(ring, { iat: NOW_S, exp: NOW_S + 3600 });
  const handles = new VerifiedHandles(ring, { clockToleranceSeconds: TOLERANCE });
  await handles.verify(token, NOW);
  await rejectsWithCode(handles.verify(token, at(-TOLERANCE - 1)), 'ERR_SESSION_INVALID');
  assert.equal((await handles.verify(token, at(-TOLERANCE))).iat, NOW_S);
});

test('handle cache: capacity bounds the entries (LRU); capacity 0 verifies every time', async () => {
  const { ring, keys } = liveRing();
  const handles = new VerifiedHandles(ring, { clockToleranceSeconds: TOLERANCE, capacity: 2 });
  const tokens = await Promise.all(
    [0, 1, 2].map(() => handle(ring, { iat: NOW_S, exp: NOW_S + 3600 })),
  );
  for (const t of tokens) await handles.verify(t, NOW);
  assert.equal(handles.size, 2);
  const off = new VerifiedHandles(ring, { clockToleranceSeconds: TOLERANCE, capacity: 0 });
  await off.verify(tokens[0] as string, NOW);
  breakFreshVerification(keys, ring.signing.kid);
  await rejectsWithCode(off.verify(tokens[0] as string, NOW), 'ERR_SESSION_INVALID');
  // The oldest was evicted: only the two newest are still served.
  await rejectsWithCode(handles.verify(tokens[0] as string, NOW), 'ERR_SESSION_INVALID');
  assert.ok(await handles.verify(tokens[2] as string, NOW));
});

test('sessions: a session revoked after its handle was cached is refused (the record is looked up every Check)', async () => {
  const { ring, keys } = liveRing();
  const s = memorySessions(ring);
  const { cookieValue, session } = await s.book.issue(ALICE);
  assert.equal((await s.book.verify(cookieValue)).sid, session.sid);
  breakFreshVerification(keys, ring.signing.kid);
  // Still accepted: the handle comes from the cache, the record from the store's cache.
  assert.equal((await s.book.verify(cookieValue)).sid, session.sid);
  assert.equal(await s.book.revoke(session.sid), true);
  await rejectsWithCode(s.book.verify(cookieValue), 'ERR_SESSION_REVOKED');
  await s.close();
});

test('sessions: after a device proof moves the session to a new id, the old cookie is refused though its handle is cached', async () => {
  const { ring, keys } = liveRing();
  const s = memorySessions(ring);
  const { cookieValue: before, session } = await s.book.issue(ALICE);
  await s.book.verify(before);
  const moved = await s.book.bindDevice(session.sid, {
    id: 'device-1',
    at: NOW_S,
    userVerified: true,
  });
  assert.notEqual(moved.session.sid, session.sid);
  assert.equal((await s.book.verify(moved.cookieValue)).device_id, 'device-1');
  breakFreshVerification(keys, ring.signing.kid);
  // Both handles are cached now; only the record decides.
  await rejectsWithCode(s.book.verify(before), 'ERR_SESSION_REVOKED');
  assert.equal((await s.book.verify(moved.cookieValue)).sid, moved.session.sid);
  await s.close();
});

test('sessions: the same stored record parses to the same session; a changed record to a new one', async () => {
  const s = memorySessions(base);
  const { cookieValue } = await s.book.issue({ ...ALICE, refresh_token: 'rt-1' });
  const a = await s.book.verify(cookieValue);
  const b = await s.book.verify(cookieValue);
  assert.equal(a, b, 'one parse per stored record object');
  const renewed = await s.book.refresh(a, async (current) => ({
    ...current,
    name: 'Alice Renamed',
    groups: ['renamed'],
  }));
  assert.ok(renewed);
  const c = await s.book.verify(cookieValue);
  assert.notEqual(c, a);
  assert.equal(c.name, 'Alice Renamed');
  assert.deepEqual(c.groups, ['renamed']);
  await s.close();
});

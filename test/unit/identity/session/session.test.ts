import assert from 'node:assert/strict';
import { test } from 'node:test';
import { issueSession, newSessionId } from '../../../../src/identity/session/issue.js';
import { SESSION_ID_PATTERN } from '../../../../src/identity/session/format.js';
import { SessionExpiredError, verifySession } from '../../../../src/identity/session/verify.js';
import {
  at,
  headerOf,
  NOW,
  NOW_S,
  payloadOf,
  rejectsWithCode,
  ringOf,
  SESSION_KEY,
} from '../../keys/support.js';
import { ALICE, ALICE_WITH_SECRETS } from './support.js';

const TTL = 3600;

test('session: round trip without secrets is a plain JWS with the session type', async () => {
  const ring = await ringOf('p256.pem');
  const token = await issueSession(ring, SESSION_KEY, ALICE, { ttlSeconds: TTL, now: NOW });
  assert.equal(token.split('.').length, 3);
  assert.deepEqual(headerOf(token), {
    alg: 'ES256',
    kid: ring.signing.kid,
    typ: 'gatehouse-session+jwt',
  });
  const claims = payloadOf(token);
  assert.equal(claims['iss'], 'gatehouse');
  assert.equal(claims['aud'], 'gatehouse-session');
  assert.equal(Object.hasOwn(claims, 'secrets'), false);
  const session = await verifySession(ring, SESSION_KEY, token, { now: at(10) });
  assert.equal(session.sub, 'alice-123');
  assert.equal(session.email, 'alice@example.com');
  assert.equal(session.email_verified, true);
  assert.equal(session.name, 'Alice');
  assert.deepEqual(session.groups, ['admins', 'dev']);
  assert.equal(session.idp_iss, 'https://idp.example.com');
  assert.equal(session.iat, NOW_S);
  assert.equal(session.exp, NOW_S + TTL);
  assert.equal(session.auth_time, NOW_S);
  assert.equal(session.refresh_token, undefined);
  assert.match(session.sid, SESSION_ID_PATTERN);
});

test('session: per-token ID token claims (nonce, at_hash) are not kept', async () => {
  const ring = await ringOf('p256.pem');
  const token = await issueSession(ring, SESSION_KEY, ALICE, { ttlSeconds: TTL, now: NOW });
  const session = await verifySession(ring, SESSION_KEY, token, { now: NOW });
  assert.deepEqual(session.claims, { sub: 'alice-123', email: 'alice@example.com', locale: 'en' });
});

test('session: round trip with secrets is a dir/A256GCM JWE wrapping the signed JWS', async () => {
  const ring = await ringOf('p256.pem');
  const token = await issueSession(ring, SESSION_KEY, ALICE_WITH_SECRETS, {
    ttlSeconds: TTL,
    now: NOW,
  });
  assert.equal(token.split('.').length, 5);
  assert.deepEqual(headerOf(token), {
    alg: 'dir',
    enc: 'A256GCM',
    cty: 'JWT',
    typ: 'gatehouse-session+jwe',
  });
  assert.doesNotMatch(
    Buffer.from(token.replaceAll('.', ''), 'base64url').toString('latin1'),
    /rt-SECRET/,
  );
  const session = await verifySession(ring, SESSION_KEY, token, { now: NOW });
  assert.equal(session.refresh_token, 'rt-SECRET-refresh-token');
  assert.equal(session.id_token, 'eyJ.id.token');
  assert.equal(session.sub, 'alice-123');
});

test('session: a new session id at every sign-in', async () => {
  const ring = await ringOf('p256.pem');
  const sids = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const token = await issueSession(ring, SESSION_KEY, ALICE, { ttlSeconds: TTL, now: NOW });
    sids.add((await verifySession(ring, SESSION_KEY, token, { now: NOW })).sid);
  }
  assert.equal(sids.size, 20);
  assert.match(newSessionId(), SESSION_ID_PATTERN);
});

test('session: a refresh keeps the session id and sign-in time', async () => {
  const ring = await ringOf('p256.pem');
  const first = await verifySession(
    ring,
    SESSION_KEY,
    await issueSession(ring, SESSION_KEY, ALICE_WITH_SECRETS, { ttlSeconds: TTL, now: NOW }),
    { now: NOW },
  );
  const later = at(7200);
  const refreshed = await issueSession(
    ring,
    SESSION_KEY,
    { ...ALICE_WITH_SECRETS, sid: first.sid, auth_time: first.auth_time },
    { ttlSeconds: TTL, now: later },
  );
  const second = await verifySession(ring, SESSION_KEY, refreshed, { now: later });
  assert.equal(second.sid, first.sid);
  assert.equal(second.auth_time, NOW_S);
  assert.equal(second.iat, NOW_S + 7200);
});

test('session: a malformed sid passed in is a caller error', async () => {
  const ring = await ringOf('p256.pem');
  await assert.rejects(
    issueSession(
      ring,
      SESSION_KEY,
      { ...ALICE, sid: 'attacker-chosen' },
      { ttlSeconds: TTL, now: NOW },
    ),
    /malformed sid/,
  );
});

test('session: expired but authentic → ERR_SESSION_EXPIRED exposing the refresh token', async () => {
  const ring = await ringOf('p256.pem');
  const token = await issueSession(ring, SESSION_KEY, ALICE_WITH_SECRETS, {
    ttlSeconds: TTL,
    now: NOW,
  });
  const err = await rejectsWithCode(
    verifySession(ring, SESSION_KEY, token, { now: at(TTL + 31), clockToleranceSeconds: 30 }),
    'ERR_SESSION_EXPIRED',
  );
  assert.ok(err instanceof SessionExpiredError);
  assert.equal(err.session.refresh_token, 'rt-SECRET-refresh-token');
  assert.equal(err.session.sub, 'alice-123');
});

test('session: an expired session error never serialises its secrets', async () => {
  const ring = await ringOf('p256.pem');
  const token = await issueSession(ring, SESSION_KEY, ALICE_WITH_SECRETS, {
    ttlSeconds: TTL,
    now: NOW,
  });
  const err = await rejectsWithCode(
    verifySession(ring, SESSION_KEY, token, { now: at(TTL + 60), clockToleranceSeconds: 0 }),
    'ERR_SESSION_EXPIRED',
  );
  const serialised = JSON.stringify({ ...err, cause: String(err.cause) });
  assert.doesNotMatch(serialised, /rt-SECRET/);
  assert.doesNotMatch(String((err.cause as Error).message), /rt-SECRET/);
});

test('session: within the clock tolerance an expiring session is still valid', async () => {
  const ring = await ringOf('p256.pem');
  const token = await issueSession(ring, SESSION_KEY, ALICE, { ttlSeconds: TTL, now: NOW });
  await verifySession(ring, SESSION_KEY, token, { now: at(TTL + 10), clockToleranceSeconds: 30 });
  await rejectsWithCode(
    verifySession(ring, SESSION_KEY, token, { now: at(TTL + 10), clockToleranceSeconds: 0 }),
    'ERR_SESSION_EXPIRED',
  );
});

test('session: rotation — a session signed by the old key verifies while the old key is in the ring', async () => {
  const oldRing = await ringOf('p256-old.pem');
  const rotated = await ringOf('p256.pem', 'p256-old.pem');
  const retired = await ringOf('p256.pem');
  const token = await issueSession(oldRing, SESSION_KEY, ALICE, { ttlSeconds: TTL, now: NOW });
  assert.equal((await verifySession(rotated, SESSION_KEY, token, { now: NOW })).sub, 'alice-123');
  await rejectsWithCode(
    verifySession(retired, SESSION_KEY, token, { now: NOW }),
    'ERR_SESSION_INVALID',
  );
  const fresh = await issueSession(rotated, SESSION_KEY, ALICE, { ttlSeconds: TTL, now: NOW });
  assert.equal(headerOf(fresh)['kid'], rotated.signing.kid);
});

for (const file of ['rsa2048.pem', 'ed25519.pem', 'p384.pem']) {
  test(`session: round trip with a ${file} signing key`, async () => {
    const ring = await ringOf(file);
    const token = await issueSession(ring, SESSION_KEY, ALICE_WITH_SECRETS, {
      ttlSeconds: TTL,
      now: NOW,
    });
    assert.equal(
      (await verifySession(ring, SESSION_KEY, token, { now: NOW })).refresh_token,
      'rt-SECRET-refresh-token',
    );
  });
}

test('session: a configured issuer is set and required', async () => {
  const ring = await ringOf('p256.pem');
  const token = await issueSession(ring, SESSION_KEY, ALICE, {
    ttlSeconds: TTL,
    now: NOW,
    issuer: 'https://auth.example.com',
  });
  await verifySession(ring, SESSION_KEY, token, { now: NOW, issuer: 'https://auth.example.com' });
  await rejectsWithCode(
    verifySession(ring, SESSION_KEY, token, { now: NOW }),
    'ERR_SESSION_INVALID',
  );
});

test('session: too big for a cookie → claims are dropped first', async () => {
  const ring = await ringOf('p256.pem');
  const big = { ...ALICE_WITH_SECRETS, claims: { blob: 'x'.repeat(3000) } };
  const token = await issueSession(ring, SESSION_KEY, big, { ttlSeconds: TTL, now: NOW });
  assert.ok(token.length <= 4000);
  const session = await verifySession(ring, SESSION_KEY, token, { now: NOW });
  assert.deepEqual(session.claims, {});
  assert.equal(session.refresh_token, 'rt-SECRET-refresh-token');
  assert.equal(session.id_token, 'eyJ.id.token');
});

test('session: still too big → the ID token is dropped next', async () => {
  const ring = await ringOf('p256.pem');
  const big = {
    ...ALICE_WITH_SECRETS,
    id_token: 'i'.repeat(2500),
    claims: { blob: 'x'.repeat(3000) },
  };
  const session = await verifySession(
    ring,
    SESSION_KEY,
    await issueSession(ring, SESSION_KEY, big, { ttlSeconds: TTL, now: NOW }),
    { now: NOW },
  );
  assert.equal(session.id_token, undefined);
  assert.equal(session.refresh_token, 'rt-SECRET-refresh-token');
});

test('session: still too big → ERR_SESSION_TOO_LARGE', async () => {
  const ring = await ringOf('p256.pem');
  const huge = { ...ALICE, groups: Array.from({ length: 400 }, (_, i) => `group-number-${i}`) };
  await rejectsWithCode(
    issueSession(ring, SESSION_KEY, huge, { ttlSeconds: TTL, now: NOW }),
    'ERR_SESSION_TOO_LARGE',
  );
});

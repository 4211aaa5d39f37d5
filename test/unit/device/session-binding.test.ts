/**
 * Sessions bound to a device certificate (`device.certificate.bind_sessions`, docs/devices.md):
 * the binding survives the cookie's round trip as RFC 8705 `cnf.x5t#S256`, and a bound session is
 * accepted only with the certificate it signed in with — cached or not, live or expired.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { resolveIdentity } from '../../../src/identity/resolve.js';
import { issueSession } from '../../../src/identity/session/issue.js';
import { verifySession } from '../../../src/identity/session/verify.js';
import { VerifiedCache } from '../../../src/identity/verified-cache.js';
import {
  at,
  forge,
  headerOf,
  keyObject,
  NOW,
  payloadOf,
  rejectsWithCode,
  ringOf,
  SESSION_KEY,
} from '../keys/support.js';
import { ALICE, ALICE_WITH_SECRETS } from '../identity/session/support.js';

const ring = await ringOf('p256.pem');
const COOKIE = '__Host-gatehouse';
const CERT_A = createHash('sha256').update('device A').digest('hex');
const CERT_B = createHash('sha256').update('device B').digest('hex');

const boundToA = await issueSession(
  ring,
  SESSION_KEY,
  { ...ALICE, device_x5t: CERT_A },
  { ttlSeconds: 3600, now: NOW },
);
const unbound = await issueSession(ring, SESSION_KEY, ALICE, { ttlSeconds: 3600, now: NOW });

function ask(token: string, deviceFingerprint?: string, now = NOW, cache?: Caches) {
  return resolveIdentity({
    headers: { cookie: `${COOKIE}=${token}` },
    cookieName: COOKIE,
    verifySession: (t) => verifySession(ring, SESSION_KEY, t, { now }),
    ...(deviceFingerprint === undefined ? {} : { deviceFingerprint }),
    ...(cache === undefined ? {} : { cache }),
  });
}

type Caches = { session: VerifiedCache<Awaited<ReturnType<typeof resolveIdentity>>> };

function newCache(): Caches {
  return {
    session: new VerifiedCache({ clockToleranceSeconds: 30, now: () => NOW.getTime() }),
  };
}

test('session binding: the cookie carries cnf.x5t#S256 (base64url SHA-256) and reads back as hex', async () => {
  const payload = payloadOf(boundToA);
  assert.deepEqual(payload['cnf'], {
    'x5t#S256': Buffer.from(CERT_A, 'hex').toString('base64url'),
  });
  assert.equal((await verifySession(ring, SESSION_KEY, boundToA, { now: NOW })).device_x5t, CERT_A);
  assert.equal(
    (await verifySession(ring, SESSION_KEY, unbound, { now: NOW })).device_x5t,
    undefined,
  );
  // Encrypted sessions (with a refresh token) carry it the same way.
  const sealed = await issueSession(
    ring,
    SESSION_KEY,
    { ...ALICE_WITH_SECRETS, device_x5t: CERT_A },
    { ttlSeconds: 3600, now: NOW },
  );
  assert.equal((await verifySession(ring, SESSION_KEY, sealed, { now: NOW })).device_x5t, CERT_A);
  // A fingerprint that is not a lower-case hex SHA-256 is a caller mistake, never issued.
  await assert.rejects(
    issueSession(ring, SESSION_KEY, { ...ALICE, device_x5t: 'AB' }, { ttlSeconds: 60, now: NOW }),
  );
});

test('session binding: a signed cnf other than exactly {x5t#S256: 32 bytes} is refused, not ignored', async () => {
  for (const cnf of [
    'x',
    {},
    { jkt: 'abc' },
    { 'x5t#S256': 'too-short' },
    { 'x5t#S256': Buffer.from(CERT_A, 'hex').toString('base64url'), jkt: 'abc' },
  ]) {
    const token = forge(headerOf(boundToA), { ...payloadOf(boundToA), cnf }, keyObject('p256.pem'));
    await rejectsWithCode(
      verifySession(ring, SESSION_KEY, token, { now: NOW }),
      'ERR_SESSION_INVALID',
    );
  }
});

test('session binding: a bound session with its certificate is the user', async () => {
  const r = await ask(boundToA, CERT_A);
  assert.equal(r.error, undefined);
  assert.ok(r.identity.authenticated);
  assert.equal(r.identity.sub, 'alice-123');
  assert.equal(r.session?.data.device_x5t, CERT_A);
});

test('session binding: a bound session without a certificate is refused (ERR_SESSION_DEVICE_MISMATCH)', async () => {
  const r = await ask(boundToA);
  assert.equal(r.identity.authenticated, false);
  assert.equal(r.source, 'session');
  assert.equal(r.error?.code, 'ERR_SESSION_DEVICE_MISMATCH');
  // Nothing to refresh: a copied cookie is not renewed off its device either.
  assert.equal(r.session, undefined);
  // The log detail names fingerprint prefixes only.
  const detail = String((r.error?.cause as Error | undefined)?.message);
  assert.match(
    detail,
    new RegExp(`bound to ${CERT_A.slice(0, 12)}…, request presented no certificate`),
  );
  assert.ok(!detail.includes(CERT_A));
});

test('session binding: a bound session with another certificate is refused', async () => {
  const r = await ask(boundToA, CERT_B);
  assert.equal(r.identity.authenticated, false);
  assert.equal(r.error?.code, 'ERR_SESSION_DEVICE_MISMATCH');
  assert.match(
    String((r.error?.cause as Error | undefined)?.message),
    new RegExp(CERT_B.slice(0, 12)),
  );
});

test('session binding: checked on every use, also when the verified session is cached', async () => {
  const cache = newCache();
  assert.equal((await ask(boundToA, CERT_A, NOW, cache)).identity.authenticated, true);
  const again = await ask(boundToA, undefined, NOW, cache);
  assert.equal(again.error?.code, 'ERR_SESSION_DEVICE_MISMATCH');
  assert.equal(
    (await ask(boundToA, CERT_B, NOW, cache)).error?.code,
    'ERR_SESSION_DEVICE_MISMATCH',
  );
  assert.equal((await ask(boundToA, CERT_A, NOW, cache)).identity.authenticated, true);
});

test('session binding: an expired bound session off its device is refused, not offered for refresh', async () => {
  const later = at(7200);
  const off = await ask(boundToA, CERT_B, later);
  assert.equal(off.error?.code, 'ERR_SESSION_DEVICE_MISMATCH');
  assert.equal(off.session, undefined);
  const on = await ask(boundToA, CERT_A, later);
  assert.equal(on.error?.code, 'ERR_SESSION_EXPIRED');
  assert.equal(on.session?.expired, true);
});

test('session binding: an unbound session is unaffected by any certificate, or none', async () => {
  for (const presented of [undefined, CERT_A, CERT_B]) {
    const r = await ask(unbound, presented);
    assert.equal(r.error, undefined, String(presented));
    assert.equal(r.identity.authenticated, true);
    assert.equal(r.session?.data.device_x5t, undefined);
  }
});

test('session binding: the forge helper signs what verifySession accepts (the refusals above are about cnf)', async () => {
  const token = forge(headerOf(boundToA), payloadOf(boundToA), keyObject('p256.pem'));
  assert.equal((await verifySession(ring, SESSION_KEY, token, { now: NOW })).device_x5t, CERT_A);
});

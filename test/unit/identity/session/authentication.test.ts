/**
 * Step-up facts in the session (issue 15): the sign-in ID token's `auth_time`, `acr` and `amr`
 * survive the cookie and reach `input.identity`; a malformed one is a refused session; absent
 * ones stay absent (and a step-up on them then fails closed).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { identityFromSession } from '../../../../src/identity/from-session.js';
import { identityFromBearer } from '../../../../src/identity/from-bearer.js';
import { issueSession, newSessionId } from '../../../../src/identity/session/issue.js';
import { verifySession } from '../../../../src/identity/session/verify.js';
import { keyObject, NOW, NOW_S, rejectsWithCode, ringOf, SESSION_KEY } from '../../keys/support.js';
import { ALICE, ALICE_WITH_SECRETS } from './support.js';

const ring = await ringOf('p256.pem');
const verify = (token: string) =>
  verifySession(ring, SESSION_KEY, token, { now: NOW, clockToleranceSeconds: 30 });

test('auth_time, acr and amr round-trip through the cookie into input.identity', async () => {
  for (const base of [ALICE, ALICE_WITH_SECRETS]) {
    const token = await issueSession(
      ring,
      SESSION_KEY,
      { ...base, idp_auth_time: NOW_S - 42, acr: 'urn:gatehouse:mfa', amr: ['pwd', 'otp'] },
      { ttlSeconds: 3600, now: NOW },
    );
    const identity = identityFromSession(await verify(token));
    assert.equal(identity.auth_time, NOW_S - 42);
    assert.equal(identity.acr, 'urn:gatehouse:mfa');
    assert.deepEqual(identity.amr, ['pwd', 'otp']);
  }
});

test('absent when the IdP gave none (never invented from the sign-in time)', async () => {
  const token = await issueSession(ring, SESSION_KEY, ALICE, { ttlSeconds: 3600, now: NOW });
  const identity = identityFromSession(await verify(token));
  assert.equal('auth_time' in identity, false);
  assert.equal('acr' in identity, false);
  assert.equal('amr' in identity, false);
});

test('a session with a malformed acr, amr or idp_auth_time is refused', async () => {
  const key = keyObject('p256.pem');
  for (const bad of [{ acr: 7 }, { amr: 'pwd' }, { amr: [1] }, { idp_auth_time: '1' }]) {
    const token = await new SignJWT({
      sid: newSessionId(),
      email: null,
      email_verified: false,
      name: null,
      groups: [],
      idp_iss: 'https://idp.example.com',
      auth_time: NOW_S,
      claims: {},
      ...bad,
    })
      .setProtectedHeader({ alg: 'ES256', kid: ring.signing.kid, typ: 'gatehouse-session+jwt' })
      .setIssuer('gatehouse')
      .setAudience('gatehouse-session')
      .setSubject('alice')
      .setIssuedAt(NOW_S)
      .setExpirationTime(NOW_S + 3600)
      .sign(key);
    await rejectsWithCode(verify(token), 'ERR_SESSION_INVALID');
  }
});

test('bearer: auth_time, acr and amr taken only when well-formed', () => {
  const base = { iss: 'i', sub: 'robot', aud: 'a', iat: NOW_S, exp: NOW_S + 60 };
  const good = identityFromBearer({ ...base, auth_time: NOW_S, acr: 'mfa', amr: ['hwk'] });
  assert.equal(good.auth_time, NOW_S);
  assert.equal(good.acr, 'mfa');
  assert.deepEqual(good.amr, ['hwk']);
  const bad = identityFromBearer({ ...base, auth_time: '1', acr: 3, amr: 'hwk' });
  assert.equal('auth_time' in bad, false);
  assert.equal('acr' in bad, false);
  assert.equal('amr' in bad, false);
});

/**
 * Hostile inputs presented as a session cookie: one named test per attack, each asserting the
 * error code. Tokens are forged with the ring's own key wherever that makes the attack stronger
 * (only the one property under test is wrong).
 */
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { test } from 'node:test';
import { CompactEncrypt, SignJWT, type CompactJWEHeaderParameters } from 'jose';
import { signAssertion } from '../../../../src/identity/assertion/sign.js';
import { issueSession, newSessionId } from '../../../../src/identity/session/issue.js';
import { verifySession } from '../../../../src/identity/session/verify.js';
import type { AuthenticatedIdentity } from '../../../../src/input/types.js';
import {
  at,
  forge,
  keyObject,
  NOW,
  NOW_S,
  rejectsWithCode,
  ringOf,
  SESSION_KEY,
  zeroSignature,
} from '../../keys/support.js';
import { ALICE, ALICE_WITH_SECRETS } from './support.js';

const ring = await ringOf('p256.pem');
const key = keyObject('p256.pem');
const KID = ring.signing.kid;
const HEADER = { alg: 'ES256', kid: KID, typ: 'gatehouse-session+jwt' };
const CLAIMS = {
  iss: 'gatehouse',
  aud: 'gatehouse-session',
  sub: 'alice-123',
  sid: newSessionId(),
  iat: NOW_S,
  exp: NOW_S + 3600,
  email: 'alice@example.com',
  email_verified: true,
  name: 'Alice',
  groups: ['admins'],
  idp_iss: 'https://idp.example.com',
  auth_time: NOW_S,
  claims: {},
};

const verify = (token: string) =>
  verifySession(ring, SESSION_KEY, token, { now: NOW, clockToleranceSeconds: 30 });
const invalid = async (token: string): Promise<void> => {
  await rejectsWithCode(verify(token), 'ERR_SESSION_INVALID');
};
const encrypt = (
  plaintext: string,
  header: CompactJWEHeaderParameters = {
    alg: 'dir',
    enc: 'A256GCM',
    cty: 'JWT',
    typ: 'gatehouse-session+jwe',
  },
  secret = SESSION_KEY,
) =>
  new CompactEncrypt(new TextEncoder().encode(plaintext))
    .setProtectedHeader(header)
    .encrypt(secret);

test('session: the forger itself produces a valid session (control)', async () => {
  assert.equal((await verify(forge(HEADER, CLAIMS, key))).sub, 'alice-123');
});

test('session: alg none is rejected', () => invalid(forge({ ...HEADER, alg: 'none' }, CLAIMS)));

test('session: HS256 signed with the public key is rejected', async () => {
  const spki = createPublicKey(key).export({ format: 'pem', type: 'spki' });
  await invalid(forge({ ...HEADER, alg: 'HS256' }, CLAIMS, new Uint8Array(Buffer.from(spki))));
  await invalid(
    forge(
      { ...HEADER, alg: 'HS256' },
      CLAIMS,
      new Uint8Array(Buffer.from(JSON.stringify(ring.jwks.keys[0]))),
    ),
  );
});

test('session: unknown kid is rejected', () =>
  invalid(forge({ ...HEADER, kid: 'some-other-key' }, CLAIMS, key)));

test('session: path traversal kid is rejected', () =>
  invalid(forge({ ...HEADER, kid: '../../dev/null' }, CLAIMS, key)));

test('session: oversized kid is rejected', () =>
  invalid(forge({ ...HEADER, kid: 'k'.repeat(2000) }, CLAIMS, key)));

test('session: missing kid is rejected', () =>
  invalid(forge({ alg: 'ES256', typ: 'gatehouse-session+jwt' }, CLAIMS, key)));

test('session: jku header is rejected', () =>
  invalid(forge({ ...HEADER, jku: 'http://127.0.0.1:1/jwks' }, CLAIMS, key)));

test('session: x5u header is rejected', () =>
  invalid(forge({ ...HEADER, x5u: 'http://127.0.0.1:1/cert' }, CLAIMS, key)));

test('session: embedded jwk header is rejected', () =>
  invalid(forge({ ...HEADER, jwk: ring.jwks.keys[0] }, CLAIMS, key)));

test('session: x5c header is rejected', () =>
  invalid(forge({ ...HEADER, x5c: ['MIIB'] }, CLAIMS, key)));

test('session: unrecognised crit is rejected', () =>
  invalid(forge({ ...HEADER, crit: ['gatehouse-magic'], 'gatehouse-magic': true }, CLAIMS, key)));

test('session: wrong typ is rejected', () =>
  invalid(forge({ ...HEADER, typ: 'JWT' }, CLAIMS, key)));

test('session: missing typ is rejected', () =>
  invalid(forge({ alg: 'ES256', kid: KID }, CLAIMS, key)));

test('session: wrong aud is rejected', () =>
  invalid(forge(HEADER, { ...CLAIMS, aud: 'gatehouse-assertion' }, key)));

test('session: missing aud is rejected', () =>
  invalid(forge(HEADER, { ...CLAIMS, aud: undefined }, key)));

test('session: wrong iss is rejected', () =>
  invalid(forge(HEADER, { ...CLAIMS, iss: 'https://idp.example.com' }, key)));

test('session: missing iss is rejected', () =>
  invalid(forge(HEADER, { ...CLAIMS, iss: undefined }, key)));

test('session: expired is ERR_SESSION_EXPIRED', async () => {
  await rejectsWithCode(
    verify(forge(HEADER, { ...CLAIMS, iat: NOW_S - 7200, exp: NOW_S - 3600 }, key)),
    'ERR_SESSION_EXPIRED',
  );
});

test('session: expired with a wrong aud is invalid, not expired (only authentic sessions are reported expired)', () =>
  invalid(forge(HEADER, { ...CLAIMS, aud: 'x', iat: NOW_S - 7200, exp: NOW_S - 3600 }, key)));

test('session: expired with a bad signature is invalid, not expired', () =>
  invalid(zeroSignature(forge(HEADER, { ...CLAIMS, iat: NOW_S - 7200, exp: NOW_S - 3600 }, key))));

test('session: not yet valid (nbf) is rejected', () =>
  invalid(forge(HEADER, { ...CLAIMS, nbf: NOW_S + 600 }, key)));

test('session: iat in the future beyond the tolerance is rejected', () =>
  invalid(forge(HEADER, { ...CLAIMS, iat: NOW_S + 600, exp: NOW_S + 4200 }, key)));

test('session: missing exp is rejected', () =>
  invalid(forge(HEADER, { ...CLAIMS, exp: undefined }, key)));

test('session: a session signed by another key under our kid is rejected', () =>
  invalid(forge(HEADER, CLAIMS, keyObject('p256-old.pem'))));

test('session: a session from another Gatehouse key ring is rejected', async () => {
  const other = await ringOf('p256-old.pem');
  await invalid(await issueSession(other, SESSION_KEY, ALICE, { ttlSeconds: 3600, now: NOW }));
});

test('session: all-zero ES256 signature is rejected', () =>
  invalid(zeroSignature(forge(HEADER, CLAIMS, key))));

test('session: an ID token is rejected as a session', async () => {
  // Even signed by Gatehouse's own key: the type and audience give it away.
  const idToken = await new SignJWT({ email: 'alice@example.com', nonce: 'n' })
    .setProtectedHeader({ alg: 'ES256', kid: KID, typ: 'JWT' })
    .setIssuer('https://idp.example.com')
    .setAudience('gatehouse-client')
    .setSubject('alice-123')
    .setIssuedAt(NOW_S)
    .setExpirationTime(NOW_S + 3600)
    .sign(ring.signing.privateKey);
  await invalid(idToken);
});

test('session: an assertion JWT is rejected as a session', async () => {
  const identity: AuthenticatedIdentity = {
    authenticated: true,
    method: 'session',
    sub: 'alice-123',
    email: null,
    email_verified: false,
    name: null,
    groups: [],
    claims: {},
    session_id: CLAIMS.sid,
    issued_at: NOW_S,
    expires_at: NOW_S + 3600,
  };
  await invalid(
    await signAssertion(ring, {
      issuer: 'gatehouse',
      audience: 'gatehouse-session',
      identity,
      now: NOW,
    }),
  );
});

test('session: a 1 MB token is rejected before parsing', () =>
  invalid(`${'a'.repeat(1 << 20)}.b.c`));

test('session: a token over 4096 bytes is rejected before parsing', () =>
  invalid(forge(HEADER, { ...CLAIMS, claims: { pad: 'x'.repeat(4000) } }, key)));

test('session: garbage is rejected', async () => {
  for (const junk of ['', 'abc', 'a.b', 'a.b.c', '....', 'e30.e30.', '{"alg":"none"}'])
    await invalid(junk);
});

test('session: a plain JWS carrying secrets is rejected (secrets travel encrypted only)', () =>
  invalid(forge(HEADER, { ...CLAIMS, secrets: { refresh_token: 'rt' } }, key)));

test('session: a JWE wrapping a JWS without secrets is rejected', async () =>
  invalid(await encrypt(forge(HEADER, CLAIMS, key))));

test('session: a JWE wrapping a JWE is rejected', async () => {
  const inner = await issueSession(ring, SESSION_KEY, ALICE_WITH_SECRETS, {
    ttlSeconds: 3600,
    now: NOW,
  });
  await invalid(await encrypt(inner));
});

test('session: a JWE wrapping unsigned claims is rejected', async () =>
  invalid(await encrypt(JSON.stringify({ ...CLAIMS, secrets: { refresh_token: 'rt' } }))));

test('session: a JWE wrapping an alg none JWS is rejected', async () =>
  invalid(
    await encrypt(
      forge({ ...HEADER, alg: 'none' }, { ...CLAIMS, secrets: { refresh_token: 'rt' } }),
    ),
  ));

test('session: a JWE under another secret is rejected', async () => {
  const token = await issueSession(ring, new Uint8Array(32).fill(9), ALICE_WITH_SECRETS, {
    ttlSeconds: 3600,
    now: NOW,
  });
  await invalid(token);
});

test('session: a JWE with another typ is rejected', async () =>
  invalid(
    await encrypt(forge(HEADER, { ...CLAIMS, secrets: { refresh_token: 'rt' } }, key), {
      alg: 'dir',
      enc: 'A256GCM',
      cty: 'JWT',
      typ: 'JWT',
    }),
  ));

test('session: a JWE with another key management algorithm is rejected', async () => {
  const token = await new CompactEncrypt(
    new TextEncoder().encode(forge(HEADER, { ...CLAIMS, secrets: { refresh_token: 'rt' } }, key)),
  )
    .setProtectedHeader({ alg: 'A256KW', enc: 'A256GCM', cty: 'JWT', typ: 'gatehouse-session+jwe' })
    .encrypt(SESSION_KEY);
  await invalid(token);
});

test('session: a JWE with an extra header (jku) is rejected', async () =>
  invalid(
    await encrypt(forge(HEADER, { ...CLAIMS, secrets: { refresh_token: 'rt' } }, key), {
      alg: 'dir',
      enc: 'A256GCM',
      cty: 'JWT',
      typ: 'gatehouse-session+jwe',
      jku: 'http://127.0.0.1:1/',
    }),
  ));

test('session: a JWE whose ciphertext was tampered with is rejected', async () => {
  const token = await issueSession(ring, SESSION_KEY, ALICE_WITH_SECRETS, {
    ttlSeconds: 3600,
    now: NOW,
  });
  const parts = token.split('.');
  const ct = Buffer.from(parts[3]!, 'base64url');
  ct[0] = ct[0]! ^ 1;
  parts[3] = ct.toString('base64url');
  await invalid(parts.join('.'));
});

test('session: malformed session claims (groups not strings) are rejected', () =>
  invalid(forge(HEADER, { ...CLAIMS, groups: [1, 2] }, key)));

test('session: an array aud that includes ours is rejected', () =>
  invalid(forge(HEADER, { ...CLAIMS, aud: ['gatehouse-session', 'other'] }, key)));

test('session: expiry is judged by the frozen clock', async () => {
  const token = forge(HEADER, CLAIMS, key);
  await verifySession(ring, SESSION_KEY, token, { now: at(3600 + 29) });
  await rejectsWithCode(
    verifySession(ring, SESSION_KEY, token, { now: at(3600 + 31) }),
    'ERR_SESSION_EXPIRED',
  );
});

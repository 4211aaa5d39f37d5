import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { base64url, CompactEncrypt } from 'jose';
import { createPublicKey, KeyObject, randomBytes } from 'node:crypto';
import { signAssertion } from '../../../src/identity/assertion/sign.js';
import { createBearerVerifier, type BearerVerifier } from '../../../src/identity/bearer/verify.js';
import type { AuthenticatedIdentity } from '../../../src/input/types.js';
import { issueSession } from '../../../src/identity/session/issue.js';
import {
  forge,
  NOW,
  NOW_S,
  rejectsWithCode,
  ringOf,
  SESSION_KEY,
  zeroSignature,
} from '../../unit/keys/support.js';
import {
  accessToken,
  AUDIENCE,
  CLIENT_ID,
  countingServer,
  idpKey,
  ISSUER,
  type CountingServer,
  type IdpKey,
} from './support.js';

let jwks: CountingServer;
let canary: CountingServer;
let es256: IdpKey;
let rs256: IdpKey;
let es384: IdpKey;
let verify: BearerVerifier;

before(async () => {
  es256 = await idpKey('es-1', 'ES256');
  rs256 = await idpKey('rs-1', 'RS256');
  es384 = await idpKey('es384-1', 'ES384');
  jwks = await countingServer(() => ({ keys: [es256.jwk, rs256.jwk, es384.jwk] }));
  canary = await countingServer();
  verify = createBearerVerifier({
    issuer: ISSUER,
    audience: [AUDIENCE],
    clientId: CLIENT_ID,
    ownIssuer: 'gatehouse',
    jwksUri: jwks.url,
    cooldownMs: 30_000,
  });
});

after(async () => {
  assert.deepEqual(canary.requests, [], 'the canary server must never be contacted');
  await jwks.close();
  await canary.close();
});

const check = (token: string) => verify(token, NOW);
const invalid = async (token: string): Promise<void> => {
  await rejectsWithCode(check(token), 'ERR_TOKEN_INVALID');
};

/** A raw ES256 signer over the IdP key, for headers jose will not produce. */
const es256Raw = () => KeyObject.from(es256.privateKey);

test('bearer: a valid ES256 token verifies and returns its claims', async () => {
  const claims = await check(await accessToken(es256, NOW_S));
  assert.equal(claims.sub, 'api-client-1');
  assert.equal(claims.iss, ISSUER);
  assert.deepEqual(claims['groups'], ['api']);
});

test('bearer: a valid RS256 token verifies', async () => {
  assert.equal((await check(await accessToken(rs256, NOW_S))).sub, 'api-client-1');
});

test('bearer: any one of several configured audiences is accepted', async () => {
  const multi = createBearerVerifier({
    issuer: ISSUER,
    audience: ['other', AUDIENCE],
    jwksUri: jwks.url,
  });
  await multi(await accessToken(es256, NOW_S, { aud: ['x', AUDIENCE] }), NOW);
});

test('bearer: alg none is rejected', () =>
  invalid(
    forge(
      { alg: 'none', typ: 'JWT' },
      { iss: ISSUER, aud: AUDIENCE, sub: 's', iat: NOW_S, exp: NOW_S + 60 },
    ),
  ));

test('bearer: HS256 signed with the IdP public key is rejected', async () => {
  const spki = createPublicKey(es256Raw()).export({ format: 'pem', type: 'spki' });
  const claims = { iss: ISSUER, aud: AUDIENCE, sub: 's', iat: NOW_S, exp: NOW_S + 60 };
  await invalid(forge({ alg: 'HS256', kid: 'es-1' }, claims, new Uint8Array(Buffer.from(spki))));
  await invalid(
    forge(
      { alg: 'HS256', kid: 'es-1' },
      claims,
      new Uint8Array(Buffer.from(JSON.stringify(es256.jwk))),
    ),
  );
});

test('bearer: an algorithm outside the allow-list is rejected (ES384 by default)', async () => {
  const token = await accessToken(es384, NOW_S);
  await invalid(token);
  const allowing = createBearerVerifier({
    issuer: ISSUER,
    audience: [AUDIENCE],
    jwksUri: jwks.url,
    algorithms: ['ES384'],
  });
  assert.equal(
    (await allowing(token, NOW)).sub,
    'api-client-1',
    'the same token verifies once ES384 is allowed',
  );
});

test('bearer: HS256 can never be allowed', () => {
  assert.throws(
    () =>
      createBearerVerifier({
        issuer: ISSUER,
        audience: [AUDIENCE],
        jwksUri: jwks.url,
        algorithms: ['HS256'],
      }),
    /not allowed/,
  );
  assert.throws(
    () =>
      createBearerVerifier({
        issuer: ISSUER,
        audience: [AUDIENCE],
        jwksUri: jwks.url,
        algorithms: ['none'],
      }),
    /not allowed/,
  );
});

test('bearer: jku header is rejected and the canary is never fetched', async () => {
  await invalid(await accessToken(es256, NOW_S, {}, { jku: canary.url.href }));
  assert.equal(canary.requests.length, 0);
});

test('bearer: x5u header is rejected and the canary is never fetched', async () => {
  await invalid(
    forge(
      { alg: 'ES256', kid: 'es-1', x5u: canary.url.href },
      { iss: ISSUER, aud: AUDIENCE, sub: 's', iat: NOW_S, exp: NOW_S + 60 },
      es256Raw(),
    ),
  );
  assert.equal(canary.requests.length, 0);
});

test('bearer: an embedded jwk header (attacker key) is rejected', async () => {
  const attacker = await idpKey('evil', 'ES256');
  await invalid(await accessToken(attacker, NOW_S, {}, { jwk: attacker.jwk as never }));
});

test('bearer: an x5c header is rejected', () =>
  invalid(
    forge(
      { alg: 'ES256', kid: 'es-1', x5c: ['MIIB'] },
      { iss: ISSUER, aud: AUDIENCE, sub: 's', iat: NOW_S, exp: NOW_S + 60 },
      es256Raw(),
    ),
  ));

test('bearer: unrecognised crit is rejected', () =>
  invalid(
    forge(
      { alg: 'ES256', kid: 'es-1', crit: ['exp-magic'], 'exp-magic': 1 },
      { iss: ISSUER, aud: AUDIENCE, sub: 's', iat: NOW_S, exp: NOW_S + 60 },
      es256Raw(),
    ),
  ));

test('bearer: the forger produces a valid token (control for the raw-signed cases)', async () => {
  await check(
    forge(
      { alg: 'ES256', kid: 'es-1', typ: 'at+jwt' },
      {
        iss: ISSUER,
        aud: AUDIENCE,
        sub: 's',
        client_id: 'c',
        jti: 'j',
        iat: NOW_S,
        exp: NOW_S + 60,
      },
      es256Raw(),
    ),
  );
});

test('bearer: expired is ERR_TOKEN_EXPIRED', async () => {
  await rejectsWithCode(check(await accessToken(es256, NOW_S - 3600)), 'ERR_TOKEN_EXPIRED');
});

test('bearer: expired within the 30 s tolerance still verifies', async () => {
  await check(await accessToken(es256, NOW_S - 310));
});

test('bearer: expired with a wrong audience is invalid, not expired', () =>
  accessToken(es256, NOW_S - 3600, { aud: 'other' }).then(invalid));

test('bearer: not yet valid (nbf) is rejected', async () =>
  invalid(await accessToken(es256, NOW_S, { nbf: NOW_S + 600 })));

test('bearer: iat in the future is rejected', async () =>
  invalid(await accessToken(es256, NOW_S + 600)));

test('bearer: missing iat is rejected', async () =>
  invalid(await accessToken(es256, NOW_S, { iat: undefined })));

test('bearer: missing exp is rejected', async () =>
  invalid(await accessToken(es256, NOW_S, { exp: undefined })));

test('bearer: wrong aud is rejected', async () =>
  invalid(await accessToken(es256, NOW_S, { aud: 'api://someone-else' })));

test('bearer: missing aud is rejected', async () =>
  invalid(await accessToken(es256, NOW_S, { aud: undefined })));

test('bearer: wrong iss is rejected', async () =>
  invalid(await accessToken(es256, NOW_S, { iss: 'https://evil.example' })));

test('bearer: missing iss is rejected', async () =>
  invalid(await accessToken(es256, NOW_S, { iss: undefined })));

test('bearer: missing sub is rejected', async () =>
  invalid(await accessToken(es256, NOW_S, { sub: undefined })));

test('bearer: a JWE instead of a JWS is rejected', async () => {
  const jwe = await new CompactEncrypt(new TextEncoder().encode(await accessToken(es256, NOW_S)))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', cty: 'JWT' })
    .encrypt(new Uint8Array(32));
  await invalid(jwe);
});

test('bearer: a token over maxTokenBytes is rejected before parsing', async () => {
  const small = createBearerVerifier({
    issuer: ISSUER,
    audience: [AUDIENCE],
    jwksUri: jwks.url,
    maxTokenBytes: 512,
  });
  await rejectsWithCode(
    small(await accessToken(es256, NOW_S, { pad: 'x'.repeat(600) }), NOW),
    'ERR_TOKEN_INVALID',
  );
});

test('bearer: a 1 MB token is rejected before parsing', () =>
  invalid(`${'a'.repeat(1 << 20)}.b.c`));

test('bearer: all-zero ES256 signature is rejected', async () =>
  invalid(zeroSignature(await accessToken(es256, NOW_S))));

test('bearer: a token signed by a key not in the JWKS, under a published kid, is rejected', async () => {
  const impostor = await idpKey('es-1', 'ES256');
  await invalid(await accessToken(impostor, NOW_S));
});

test('bearer: unknown kid is rejected', async () =>
  invalid(await accessToken({ ...es256, kid: 'never-published' }, NOW_S)));

test('bearer: path traversal kid is rejected', async () =>
  invalid(await accessToken({ ...es256, kid: '../../dev/null' }, NOW_S)));

test('bearer: oversized kid is rejected', async () =>
  invalid(await accessToken({ ...es256, kid: 'k'.repeat(5000) }, NOW_S)));

test('bearer: a Gatehouse session is rejected as a bearer token', async () => {
  const ring = await ringOf('p256.pem');
  const session = await issueSession(
    ring,
    SESSION_KEY,
    {
      sub: 'alice',
      email: null,
      email_verified: false,
      name: null,
      groups: [],
      idp_iss: ISSUER,
      claims: {},
    },
    { ttlSeconds: 3600, now: NOW, issuer: ISSUER },
  );
  await invalid(session);
});

test('bearer: a Gatehouse assertion JWT is rejected as a bearer token', async () => {
  const ring = await ringOf('p256.pem');
  const identity: AuthenticatedIdentity = {
    authenticated: true,
    method: 'session',
    sub: 'alice',
    email: null,
    email_verified: false,
    name: null,
    groups: [],
    claims: {},
    session_id: null,
    issued_at: NOW_S,
    expires_at: NOW_S + 60,
  };
  // Even with the IdP's issuer and our audience, it is signed by a key the IdP never published.
  await invalid(
    await signAssertion(ring, { issuer: ISSUER, audience: AUDIENCE, identity, now: NOW }),
  );
  await invalid(
    await signAssertion(ring, {
      issuer: 'gatehouse',
      audience: 'app.example.com',
      identity,
      now: NOW,
    }),
  );
});

test('bearer: a Gatehouse session type is rejected even when signed by the IdP', async () =>
  invalid(await accessToken(es256, NOW_S, {}, { typ: 'gatehouse-session+jwt' })));

test('bearer: garbage is rejected', async () => {
  for (const junk of [
    '',
    'abc',
    'a.b',
    'a.b.c',
    'a.b.c.d',
    `${base64url.encode('{"alg":"ES256"}')}..x`,
  ])
    await invalid(junk);
});

test('bearer: random tokens never crash the verifier', async () => {
  for (let i = 0; i < 50; i++) {
    const parts = [randomBytes(20), randomBytes(40), randomBytes(64)].map((b) =>
      base64url.encode(b),
    );
    await invalid(parts.join('.'));
  }
});

// ── Issue 12 point 1: a bearer token is an access token meant for this resource ─────────────────

/** An ID token as an IdP signs it for Gatehouse's client (OIDC Core §2). */
const idTokenClaims = {
  aud: CLIENT_ID,
  nonce: 'n-0S6_WzA2Mj',
  at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q',
  auth_time: NOW_S - 5,
  azp: CLIENT_ID,
  client_id: undefined,
  jti: undefined,
};

test('bearer kind: an ID token for Gatehouse (aud = client id, nonce, at_hash) is refused, typed or not, even if its aud also names the API', async () => {
  await invalid(await accessToken(es256, NOW_S, idTokenClaims, { typ: 'JWT' }));
  await invalid(await accessToken(es256, NOW_S, idTokenClaims, { typ: undefined }));
  await invalid(
    await accessToken(
      es256,
      NOW_S,
      { ...idTokenClaims, aud: [CLIENT_ID, AUDIENCE] },
      { typ: 'JWT' },
    ),
  );
  const lenient = createBearerVerifier({
    issuer: ISSUER,
    audience: [AUDIENCE],
    clientId: CLIENT_ID,
    allowUntyped: true,
    jwksUri: jwks.url,
  });
  for (const claims of [
    idTokenClaims,
    { ...idTokenClaims, aud: [CLIENT_ID, AUDIENCE] },
    { aud: AUDIENCE, nonce: 'n' },
    { aud: AUDIENCE, at_hash: 'h' },
    { aud: [AUDIENCE, CLIENT_ID] },
  ]) {
    await rejectsWithCode(
      lenient(await accessToken(es256, NOW_S, claims, { typ: 'JWT' }), NOW),
      'ERR_TOKEN_INVALID',
    );
  }
});

test('bearer kind: a back-channel logout token (typ logout+jwt, events) is refused', async () => {
  const events = { 'http://schemas.openid.net/event/backchannel-logout': {} };
  await invalid(await accessToken(es256, NOW_S, { events, sid: 'sid-1' }, { typ: 'logout+jwt' }));
  await invalid(
    await accessToken(es256, NOW_S, { events, sid: 'sid-1' }, { typ: 'application/logout+jwt' }),
  );
  // Shaped like an access token but carrying events: still a security event token.
  await invalid(await accessToken(es256, NOW_S, { events }));
  const lenient = createBearerVerifier({
    issuer: ISSUER,
    audience: [AUDIENCE],
    allowUntyped: true,
    jwksUri: jwks.url,
  });
  await rejectsWithCode(
    lenient(await accessToken(es256, NOW_S, { events }, { typ: 'JWT' }), NOW),
    'ERR_TOKEN_INVALID',
  );
});

test('bearer kind: untyped tokens (no typ, typ JWT) are refused unless allow_untyped', async () => {
  await invalid(await accessToken(es256, NOW_S, {}, { typ: 'JWT' }));
  await invalid(await accessToken(es256, NOW_S, {}, { typ: undefined }));
  const lenient = createBearerVerifier({
    issuer: ISSUER,
    audience: [AUDIENCE],
    allowUntyped: true,
    jwksUri: jwks.url,
  });
  assert.equal(
    (await lenient(await accessToken(es256, NOW_S, {}, { typ: 'JWT' }), NOW)).sub,
    'api-client-1',
  );
  assert.equal(
    (await lenient(await accessToken(es256, NOW_S, {}, { typ: undefined }), NOW)).sub,
    'api-client-1',
  );
});

test('bearer kind: at+jwt accepted in both spellings; RFC 9068 client_id and jti required', async () => {
  assert.equal(
    (await check(await accessToken(es256, NOW_S, {}, { typ: 'application/at+jwt' }))).sub,
    'api-client-1',
  );
  await invalid(await accessToken(es256, NOW_S, { client_id: undefined }));
  await invalid(await accessToken(es256, NOW_S, { jti: undefined }));
});

test('bearer kind: other typ values and payload kinds (Keycloak typ ID, Cognito token_use id) are refused', async () => {
  for (const typ of [
    'id_token+jwt',
    'dpop+jwt',
    'secevent+jwt',
    'gatehouse-handoff+jwt',
    'gatehouse-txn+jwt',
  ])
    await invalid(await accessToken(es256, NOW_S, {}, { typ }));
  await invalid(await accessToken(es256, NOW_S, { typ: 'ID' }));
  await invalid(await accessToken(es256, NOW_S, { typ: 'Refresh' }));
  await invalid(await accessToken(es256, NOW_S, { token_use: 'id' }));
  assert.equal(
    (await check(await accessToken(es256, NOW_S, { typ: 'Bearer', token_use: 'access' }))).sub,
    'api-client-1',
  );
});

test("bearer kind: a token with Gatehouse's own issuer or signed under a Gatehouse kid is refused", async () => {
  const own = createBearerVerifier({
    issuer: ISSUER,
    audience: [AUDIENCE],
    ownIssuer: ISSUER,
    jwksUri: jwks.url,
  });
  await rejectsWithCode(own(await accessToken(es256, NOW_S), NOW), 'ERR_TOKEN_INVALID');
  const kids = createBearerVerifier({
    issuer: ISSUER,
    audience: [AUDIENCE],
    ownKids: new Set(['es-1']),
    jwksUri: jwks.url,
  });
  await rejectsWithCode(kids(await accessToken(es256, NOW_S), NOW), 'ERR_TOKEN_INVALID');
});

test('bearer kind: the client id can never be a bearer audience', () => {
  assert.throws(
    () =>
      createBearerVerifier({
        issuer: ISSUER,
        audience: [CLIENT_ID],
        clientId: CLIENT_ID,
        jwksUri: jwks.url,
      }),
    /client id/,
  );
});

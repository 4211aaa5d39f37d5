/**
 * The remote JWKS: cached, rotation-aware, and never a fetch storm.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createBearerVerifier } from '../../../src/identity/bearer/verify.js';
import { NOW, NOW_S, rejectsWithCode } from '../../unit/keys/support.js';
import { accessToken, AUDIENCE, countingServer, idpKey, ISSUER } from './support.js';

test('bearer: the JWKS is fetched once and cached across tokens', async () => {
  const key = await idpKey('k1');
  const server = await countingServer(() => ({ keys: [key.jwk] }));
  try {
    const verify = createBearerVerifier({
      issuer: ISSUER,
      audience: [AUDIENCE],
      jwksUri: server.url,
    });
    for (let i = 0; i < 20; i++) await verify(await accessToken(key, NOW_S, { sub: `c${i}` }), NOW);
    assert.equal(server.requests.length, 1);
  } finally {
    await server.close();
  }
});

test('bearer: 50 tokens with random unknown kids cause no fetch storm', async () => {
  const key = await idpKey('k1');
  const server = await countingServer(() => ({ keys: [key.jwk] }));
  try {
    const verify = createBearerVerifier({
      issuer: ISSUER,
      audience: [AUDIENCE],
      jwksUri: server.url,
      cooldownMs: 30_000,
    });
    await verify(await accessToken(key, NOW_S), NOW);
    const forged = await Promise.all(
      Array.from({ length: 50 }, () =>
        accessToken({ ...key, kid: randomBytes(8).toString('hex') }, NOW_S),
      ),
    );
    // Half at once, half one after another.
    await Promise.all(
      forged.slice(0, 25).map((t) => rejectsWithCode(verify(t, NOW), 'ERR_TOKEN_INVALID')),
    );
    for (const t of forged.slice(25)) await rejectsWithCode(verify(t, NOW), 'ERR_TOKEN_INVALID');
    assert.ok(server.requests.length <= 2, `the JWKS was fetched ${server.requests.length} times`);
  } finally {
    await server.close();
  }
});

test('bearer: 50 unknown kids before any fetch still make at most a couple of requests', async () => {
  const key = await idpKey('k1');
  const server = await countingServer(() => ({ keys: [key.jwk] }));
  try {
    const verify = createBearerVerifier({
      issuer: ISSUER,
      audience: [AUDIENCE],
      jwksUri: server.url,
    });
    const forged = await Promise.all(
      Array.from({ length: 50 }, () =>
        accessToken({ ...key, kid: randomBytes(8).toString('hex') }, NOW_S),
      ),
    );
    await Promise.all(forged.map((t) => rejectsWithCode(verify(t, NOW), 'ERR_TOKEN_INVALID')));
    assert.ok(server.requests.length <= 2, `the JWKS was fetched ${server.requests.length} times`);
  } finally {
    await server.close();
  }
});

test('bearer: rotation — a new IdP key is picked up on its first unknown kid after the cooldown', async () => {
  const oldKey = await idpKey('old');
  const newKey = await idpKey('new');
  let keys = [oldKey.jwk];
  const server = await countingServer(() => ({ keys }));
  try {
    const verify = createBearerVerifier({
      issuer: ISSUER,
      audience: [AUDIENCE],
      jwksUri: server.url,
      cooldownMs: 50,
    });
    await verify(await accessToken(oldKey, NOW_S), NOW);
    keys = [newKey.jwk, oldKey.jwk];
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal((await verify(await accessToken(newKey, NOW_S), NOW)).sub, 'api-client-1');
    await verify(await accessToken(oldKey, NOW_S), NOW);
    assert.equal(server.requests.length, 2);
  } finally {
    await server.close();
  }
});

test('bearer: an unreachable JWKS is ERR_JWKS_UNAVAILABLE (fail closed)', async () => {
  const key = await idpKey('k1');
  const server = await countingServer(() => ({ keys: [key.jwk] }));
  const url = server.url;
  await server.close();
  const verify = createBearerVerifier({
    issuer: ISSUER,
    audience: [AUDIENCE],
    jwksUri: url,
    fetchTimeoutMs: 1000,
  });
  await rejectsWithCode(verify(await accessToken(key, NOW_S), NOW), 'ERR_JWKS_UNAVAILABLE');
});

test('bearer: a JWKS answering 500 is ERR_JWKS_UNAVAILABLE', async () => {
  const key = await idpKey('k1');
  const server = await countingServer(() => ({ error: 'down' }));
  server.status = 500;
  try {
    const verify = createBearerVerifier({
      issuer: ISSUER,
      audience: [AUDIENCE],
      jwksUri: server.url,
    });
    await rejectsWithCode(verify(await accessToken(key, NOW_S), NOW), 'ERR_JWKS_UNAVAILABLE');
  } finally {
    await server.close();
  }
});

test('bearer: a JWKS that is not a key set is ERR_JWKS_UNAVAILABLE', async () => {
  const key = await idpKey('k1');
  const server = await countingServer(() => ({ not: 'keys' }));
  try {
    const verify = createBearerVerifier({
      issuer: ISSUER,
      audience: [AUDIENCE],
      jwksUri: server.url,
    });
    await rejectsWithCode(verify(await accessToken(key, NOW_S), NOW), 'ERR_JWKS_UNAVAILABLE');
  } finally {
    await server.close();
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { calculateJwkThumbprint, compactVerify, createLocalJWKSet, SignJWT } from 'jose';
import { loadSigningKeys } from '../../../src/keys/load.js';
import { keyFile, rejectsWithCode, ringOf } from './support.js';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

for (const [file, alg] of [
  ['p256.pem', 'ES256'],
  ['p256-sec1.pem', 'ES256'],
  ['p384.pem', 'ES384'],
  ['rsa2048.pem', 'RS256'],
  ['ed25519.pem', 'EdDSA'],
  ['p256-kid.jwk.json', 'ES256'],
] as const) {
  test(`keys: ${file} loads as ${alg} and signs what its published key verifies`, async () => {
    const ring = await ringOf(file);
    assert.equal(ring.signing.alg, alg);
    assert.equal(ring.generated, false);
    const jws = await new SignJWT({ sub: 'x' })
      .setProtectedHeader({ alg, kid: ring.signing.kid })
      .sign(ring.signing.privateKey);
    const { protectedHeader } = await compactVerify(
      jws,
      createLocalJWKSet({ keys: [...ring.jwks.keys] }),
    );
    assert.equal(protectedHeader.kid, ring.signing.kid);
  });
}

test('keys: kid is the RFC 7638 thumbprint when the key has none', async () => {
  const ring = await ringOf('p256.pem');
  const jwk = ring.jwks.keys[0]!;
  assert.equal(ring.signing.kid, await calculateJwkThumbprint(jwk, 'sha256'));
});

test('keys: a JWK keeps its own kid', async () => {
  const ring = await ringOf('p256-kid.jwk.json');
  assert.equal(ring.signing.kid, 'gatehouse-2025-01');
});

test('keys: rotation — the first key signs, every key verifies and is published', async () => {
  const ring = await ringOf('p256.pem', 'p256-old.pem', 'rsa2048.pem');
  const [first, second, third] = ring.jwks.keys;
  assert.equal(ring.signing.kid, first!.kid);
  assert.equal(ring.jwks.keys.length, 3);
  assert.deepEqual([...ring.verification.keys()], [first!.kid, second!.kid, third!.kid]);
  assert.equal(ring.verification.get(third!.kid)?.alg, 'RS256');
});

test('keys: the JWKS holds public keys only, each with kid, alg and use "sig"', async () => {
  const ring = await ringOf('p256.pem', 'rsa2048.pem', 'ed25519.pem', 'p256-kid.jwk.json');
  for (const jwk of ring.jwks.keys) {
    for (const member of PRIVATE_MEMBERS)
      assert.equal(Object.hasOwn(jwk, member), false, `${jwk.kid} publishes "${member}"`);
    assert.equal(jwk.use, 'sig');
    assert.equal(typeof jwk.kid, 'string');
    assert.equal(typeof jwk.alg, 'string');
  }
  assert.doesNotMatch(JSON.stringify(ring.jwks), /"d"\s*:/);
});

for (const [file, problem] of [
  ['rsa1024.pem', /too short/],
  ['secp256k1.pem', /unsupported EC curve/],
  ['p256-public.pem', /private key is needed/],
  ['p256-public.jwk.json', /no private part/],
  ['p256-encrypted.pem', /encrypted PEM/],
  ['p256-wrong-alg.jwk.json', /"alg" is "RS256"/],
  ['not-a-key.txt', /neither a PEM private key nor a JWK/],
  ['does-not-exist.pem', /cannot be read \(ENOENT\)/],
] as const) {
  test(`keys: ${file} is refused with ERR_KEYS_INVALID naming the file`, async () => {
    const err = await rejectsWithCode(
      loadSigningKeys({ files: [keyFile(file)], development: false }),
      'ERR_KEYS_INVALID',
    );
    assert.match(err.message, new RegExp(file.replace('.', '\\.')));
    assert.match(err.message, problem);
  });
}

test('keys: the same key twice is refused (duplicate kid)', async () => {
  const err = await rejectsWithCode(ringOf('p256.pem', 'p256.pem'), 'ERR_KEYS_INVALID');
  assert.match(err.message, /duplicate kid/);
});

test('keys: no key files outside development mode is refused', async () => {
  const err = await rejectsWithCode(
    loadSigningKeys({ files: [], development: false }),
    'ERR_KEYS_INVALID',
  );
  assert.match(err.message, /no signing keys are configured/);
});

test('keys: no key files in development mode generates an ES256 key, flagged and logged', async () => {
  const logs: string[] = [];
  const ring = await loadSigningKeys({ files: [], development: true, log: (m) => logs.push(m) });
  assert.equal(ring.generated, true);
  assert.equal(ring.signing.alg, 'ES256');
  assert.equal(ring.jwks.keys.length, 1);
  assert.match(logs.join('\n'), /generated a development ES256 signing key/);
});

test('keys: the log names kid and algorithm, never key material', async () => {
  const logs: string[] = [];
  await loadSigningKeys({
    files: [keyFile('p256.pem')],
    development: false,
    log: (m) => logs.push(m),
  });
  assert.equal(logs.length, 1);
  assert.match(logs[0]!, /loaded ES256 key \S+ from .*p256\.pem/);
  assert.doesNotMatch(logs[0]!, /BEGIN|"d"/);
});

import assert from 'node:assert/strict';
import { hkdfSync } from 'node:crypto';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { base64url } from 'jose';
import { generateKeyFiles } from '../../../src/keys/generate.js';
import { loadSigningKeys } from '../../../src/keys/load.js';
import { deriveKey, loadSessionSecret } from '../../../src/keys/session-secret.js';
import { rejectsWithCode } from './support.js';

const SECRET = base64url.encode(new Uint8Array(32).fill(1));

test('session secret: a base64url value of 32 bytes derives a 32-byte key', async () => {
  const { key, generated } = await loadSessionSecret({ value: SECRET, development: false });
  assert.equal(key.length, 32);
  assert.equal(generated, false);
  assert.notDeepEqual(
    Buffer.from(key),
    Buffer.from(new Uint8Array(32).fill(1)),
    'the key is derived, not the raw secret',
  );
});

test('the derived keys are HKDF-SHA256 with each use as info (cookies from earlier versions still open)', async () => {
  const hkdf = (from: Uint8Array, info: string) =>
    new Uint8Array(hkdfSync('sha256', from, new Uint8Array(0), info, 32));
  const raw = new Uint8Array(32).fill(1);
  const { key } = await loadSessionSecret({ value: SECRET, development: false });
  assert.deepEqual(key, hkdf(raw, 'gatehouse session encryption'));
  for (const use of ['gatehouse sign-in transaction', 'gatehouse sign-in hand-off'] as const)
    assert.deepEqual(deriveKey(key, use), hkdf(key, use), use);
  assert.notDeepEqual(
    deriveKey(key, 'gatehouse sign-in transaction'),
    deriveKey(key, 'gatehouse sign-in hand-off'),
  );
});

test('session secret: derivation is deterministic (sessions survive a restart)', async () => {
  const a = await loadSessionSecret({ value: SECRET, development: false });
  const b = await loadSessionSecret({ value: `  ${SECRET}\n`, development: false });
  assert.deepEqual(a.key, b.key);
});

test('session secret: standard base64 (openssl rand -base64 32) is accepted', async () => {
  const { key } = await loadSessionSecret({
    value: Buffer.alloc(48, 250).toString('base64'),
    development: false,
  });
  assert.equal(key.length, 32);
});

test('session secret: read from a file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-secret-'));
  await writeFile(join(dir, 's'), `${SECRET}\n`);
  const fromFile = await loadSessionSecret({ file: join(dir, 's'), development: false });
  const fromValue = await loadSessionSecret({ value: SECRET, development: false });
  assert.deepEqual(fromFile.key, fromValue.key);
});

test('session secret: shorter than 32 bytes is refused', async () => {
  const err = await rejectsWithCode(
    loadSessionSecret({ value: base64url.encode(new Uint8Array(31)), development: false }),
    'ERR_KEYS_INVALID',
  );
  assert.match(err.message, /at least 32 bytes, got 31/);
});

test('session secret: a passphrase is refused, not stretched', async () => {
  await rejectsWithCode(
    loadSessionSecret({ value: 'correct horse battery staple and more words', development: false }),
    'ERR_KEYS_INVALID',
  );
});

test('session secret: both a file and a value is refused', async () => {
  await rejectsWithCode(
    loadSessionSecret({ value: SECRET, file: '/nonexistent', development: false }),
    'ERR_KEYS_INVALID',
  );
});

test('session secret: none outside development mode is refused', async () => {
  const err = await rejectsWithCode(loadSessionSecret({ development: false }), 'ERR_KEYS_INVALID');
  assert.match(err.message, /session secret: no session secret is configured/);
});

test('session secret: none in development mode is generated and flagged', async () => {
  const { key, generated } = await loadSessionSecret({ development: true });
  assert.equal(generated, true);
  assert.equal(key.length, 32);
});

test('keygen: writes a loadable P-256 key and secret, owner-only, and never overwrites', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-keygen-'));
  const out = await generateKeyFiles(dir);
  assert.match(await readFile(out.signingKeyFile, 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
  assert.equal((await stat(out.signingKeyFile)).mode & 0o777, 0o600);
  assert.equal((await stat(out.sessionSecretFile)).mode & 0o777, 0o600);
  const ring = await loadSigningKeys({ files: [out.signingKeyFile], development: false });
  assert.equal(ring.signing.alg, 'ES256');
  assert.equal(ring.signing.kid, out.kid);
  const secret = await loadSessionSecret({ file: out.sessionSecretFile, development: false });
  assert.equal(secret.key.length, 32);
  await assert.rejects(generateKeyFiles(dir), { code: 'EEXIST' });
});

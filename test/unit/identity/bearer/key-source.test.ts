/**
 * The IdP key source (src/identity/bearer/key-source.ts) and its cache file (src/identity/bearer/provider-cache.ts):
 * keys survive an outage up to their maximum age, the cache file is private and atomic, a foreign
 * or stale file is never used, and made-up `kid`s cannot flood the IdP.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import {
  createIdpKeySource,
  type IdpKeySource,
  type KeySourceEvent,
} from '../../../../src/identity/bearer/key-source.js';
import { createBearerVerifier } from '../../../../src/identity/bearer/verify.js';
import {
  readProviderCache,
  writeProviderCache,
} from '../../../../src/identity/bearer/provider-cache.js';
import {
  AUDIENCE,
  ISSUER,
  accessToken,
  countingServer,
  idpKey,
} from '../../../integration/bearer/support.js';

const now = () => Math.floor(Date.now() / 1000);

function discoveryFor(jwksUri: URL): Record<string, unknown> {
  return {
    issuer: ISSUER,
    jwks_uri: jwksUri.href,
    authorization_endpoint: `${ISSUER}/auth`,
    token_endpoint: `${ISSUER}/token`,
  };
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function verifierFor(keys: IdpKeySource) {
  return createBearerVerifier({ issuer: ISSUER, audience: [AUDIENCE], keys: keys.getKey });
}

test('the cache file is written atomically, readable only by its owner, and read back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-idp-cache-'));
  const file = join(dir, 'idp.json');
  const key = await idpKey('k1');
  const snapshot = {
    configuredIssuer: ISSUER,
    discovery: discoveryFor(new URL('https://idp.example.test/jwks')),
    jwks: { keys: [key.jwk] },
    fetchedAt: Date.now(),
  };
  await writeProviderCache(file, snapshot);
  await writeProviderCache(file, snapshot);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['idp.json'], 'no temporary file left behind');
  const read = await readProviderCache(file, { issuer: ISSUER, maxAgeMs: 60_000 });
  assert.ok('snapshot' in read, JSON.stringify(read));
  assert.deepEqual(read.snapshot.jwks, snapshot.jwks);
  assert.equal(read.snapshot.fetchedAt, snapshot.fetchedAt);
});

test('a cache file for another issuer, older than the maximum age, writable by others, or malformed is never used', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-idp-cache-'));
  const file = join(dir, 'idp.json');
  const key = await idpKey('k1');
  const base = {
    configuredIssuer: ISSUER,
    discovery: discoveryFor(new URL('https://idp.example.test/jwks')),
    jwks: { keys: [key.jwk] },
  };
  await writeProviderCache(file, { ...base, fetchedAt: Date.now() });
  assert.match(
    String(
      Object.values(
        await readProviderCache(file, { issuer: 'https://other.example.test', maxAgeMs: 60_000 }),
      )[0],
    ),
    /not https:\/\/other/,
  );
  await writeProviderCache(file, { ...base, fetchedAt: Date.now() - 120_000 });
  assert.match(
    String(Object.values(await readProviderCache(file, { issuer: ISSUER, maxAgeMs: 60_000 }))[0]),
    /maximum age/,
  );
  await writeProviderCache(file, { ...base, fetchedAt: Date.now() });
  chmodSync(file, 0o666);
  assert.match(
    String(Object.values(await readProviderCache(file, { issuer: ISSUER, maxAgeMs: 60_000 }))[0]),
    /writable by other users/,
  );
  chmodSync(file, 0o600);
  writeFileSync(file, '{"format":"gatehouse-idp-cache/1","configured_issuer":1}');
  assert.ok('problem' in (await readProviderCache(file, { issuer: ISSUER, maxAgeMs: 60_000 })));
  writeFileSync(file, 'not json');
  assert.ok('problem' in (await readProviderCache(file, { issuer: ISSUER, maxAgeMs: 60_000 })));
  assert.ok(
    'problem' in
      (await readProviderCache(join(dir, 'missing.json'), { issuer: ISSUER, maxAgeMs: 60_000 })),
  );
});

test('keys loaded from the cache file verify tokens while the IdP is unreachable', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-idp-cache-'));
  const file = join(dir, 'idp.json');
  const key = await idpKey('k1');
  // jwks_uri points at a closed port: the IdP is down.
  await writeProviderCache(file, {
    configuredIssuer: ISSUER,
    discovery: discoveryFor(new URL('http://127.0.0.1:1/jwks')),
    jwks: { keys: [key.jwk] },
    fetchedAt: Date.now() - 5_000,
  });
  const events: KeySourceEvent[] = [];
  const keys = createIdpKeySource({
    configuredIssuer: ISSUER,
    cacheFile: file,
    maxAgeMs: 3_600_000,
    onEvent: (e) => events.push(e),
  });
  t.after(() => keys.close());
  await keys.load();
  assert.equal(keys.state, 'cache');
  assert.equal(keys.issuer(), ISSUER);
  const claims = await verifierFor(keys)(await accessToken(key, now()));
  assert.equal(claims.sub, 'api-client-1');
  assert.ok(events.some((e) => e.type === 'cache-loaded'));
  // A made-up kid is refused as invalid, not as "keys unavailable".
  const other = await idpKey('k-unknown');
  await assert.rejects(verifierFor(keys)(await accessToken(other, now())), {
    code: 'ERR_TOKEN_INVALID',
  });
});

test('the last good keys outlive a failed refresh, up to the maximum age and not beyond', async (t) => {
  const key = await idpKey('k1');
  const jwks = await countingServer(() => ({ keys: [key.jwk] }));
  t.after(() => jwks.close());
  const maxAgeMs = 1500;
  const keys = createIdpKeySource({
    configuredIssuer: ISSUER,
    maxAgeMs,
    refreshIntervalMs: 50,
    retryMinDelayMs: 20,
    retryMaxDelayMs: 50,
  });
  t.after(() => keys.close());
  keys.discovered(discoveryFor(jwks.url));
  await until(() => keys.state === 'idp', 'the first fetch');
  const verify = verifierFor(keys);
  const token = await accessToken(key, now());
  await verify(token);

  // The IdP now fails every JWKS request: refreshes fail, the keys stay in use.
  jwks.status = 503;
  const failedBefore = jwks.requests.length;
  await until(() => jwks.requests.length >= failedBefore + 3, 'failed refreshes');
  assert.equal(keys.state, 'idp');
  assert.equal((await verify(token)).sub, 'api-client-1', 'still verified with the last good keys');

  // Past the maximum age the keys are no longer used: fail closed.
  await until(() => keys.state === 'expired', 'the keys to age out', 10_000);
  await assert.rejects(verify(await accessToken(key, now(), { jti: 'fresh' })), {
    code: 'ERR_JWKS_UNAVAILABLE',
  });

  // The IdP answers again: the next refresh brings the keys back.
  jwks.status = 200;
  await until(() => keys.state === 'idp', 'keys after the IdP returned');
  await verify(await accessToken(key, now(), { jti: 'again' }));
});

test('tokens with made-up kids trigger at most one JWKS fetch per cooldown', async (t) => {
  const key = await idpKey('k1');
  const jwks = await countingServer(() => ({ keys: [key.jwk] }));
  t.after(() => jwks.close());
  const keys = createIdpKeySource({
    configuredIssuer: ISSUER,
    maxAgeMs: 3_600_000,
    cooldownMs: 60_000,
  });
  t.after(() => keys.close());
  keys.discovered(discoveryFor(jwks.url));
  await until(() => keys.state === 'idp', 'the first fetch');
  const verify = verifierFor(keys);
  const fetchesBefore = jwks.requests.length;
  for (let i = 0; i < 25; i++) {
    const forged = await idpKey(`made-up-${i}`);
    await assert.rejects(verify(await accessToken(forged, now())), { code: 'ERR_TOKEN_INVALID' });
  }
  assert.ok(
    jwks.requests.length - fetchesBefore <= 1,
    `${jwks.requests.length - fetchesBefore} fetches for 25 unknown kids`,
  );
});

test('a rotated key is picked up on its first token (one refetch), without waiting for the timer', async (t) => {
  const k1 = await idpKey('k1');
  const k2 = await idpKey('k2');
  let published = [k1.jwk];
  const jwks = await countingServer(() => ({ keys: published }));
  t.after(() => jwks.close());
  const keys = createIdpKeySource({
    configuredIssuer: ISSUER,
    maxAgeMs: 3_600_000,
    timeoutMs: 5000,
  });
  t.after(() => keys.close());
  keys.discovered(discoveryFor(jwks.url));
  await until(() => keys.state === 'idp', 'the first fetch');
  published = [k1.jwk, k2.jwk];
  assert.equal((await verifierFor(keys)(await accessToken(k2, now()))).sub, 'api-client-1');
});

test('static keys from the configuration verify tokens when no fetched or cached keys are usable, and only then', async (t) => {
  const configured = await idpKey('static-1');
  const fetched = await idpKey('fetched-1');
  const jwks = await countingServer(() => ({ keys: [fetched.jwk] }));
  t.after(() => jwks.close());
  jwks.status = 503;
  const keys = createIdpKeySource({
    configuredIssuer: ISSUER,
    maxAgeMs: 3_600_000,
    staticJwks: { keys: [configured.jwk] },
    retryMinDelayMs: 20,
    retryMaxDelayMs: 50,
  });
  t.after(() => keys.close());
  assert.equal(keys.state, 'static');
  assert.equal(keys.issuer(), ISSUER, 'the configured issuer until discovery names one');
  const verify = verifierFor(keys);
  assert.equal((await verify(await accessToken(configured, now()))).sub, 'api-client-1');
  // The IdP answers: its keys take over, and the static ones are no longer used.
  keys.discovered(discoveryFor(jwks.url));
  jwks.status = 200;
  await until(() => keys.state === 'idp', 'fetched keys');
  assert.equal((await verifierFor(keys)(await accessToken(fetched, now()))).sub, 'api-client-1');
  await assert.rejects(verifierFor(keys)(await accessToken(configured, now(), { jti: 'x' })), {
    code: 'ERR_TOKEN_INVALID',
  });
});

test('a malformed static JWKS is refused when the key source is created', () => {
  assert.throws(
    () =>
      createIdpKeySource({
        configuredIssuer: ISSUER,
        maxAgeMs: 1000,
        staticJwks: { keys: 'nope' } as never,
      }),
    { code: 'ERR_JWKS_INVALID' },
  );
});

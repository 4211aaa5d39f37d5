/**
 * Memory per entry of Gatehouse's two per-process caches, measured with the real classes and
 * values: the verified-token cache (src/identity/verified-cache.ts, the token's whole payload as
 * JSON text, as src/identity/resolve.ts keeps it, keyed by the token's SHA-256) and the assertion cache
 * (src/identity/assertion/cache.ts, a signed ES256 assertion keyed by the asserted identity and
 * host). The access tokens' claims are the traffic stage's (bench/traffic.ts): iss, aud, sub,
 * email, name, two groups, client_id, scope, iat, exp, jti.
 *
 * Also the cache of verified session handles (src/identity/session/handle-cache.ts): one real
 * ES256 handle per entry, verified once.
 *
 * Heap used after a full GC, before and after filling `--entries` of each (the same process, so
 * the difference is the caches' own): bytes per entry, as docs/performance.md states them.
 *
 * Usage: node --expose-gc dist/bench/cache-memory.js [--entries 100000]
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { AssertionCache, assertionKey } from '../src/identity/assertion/cache.js';
import { signAssertion } from '../src/identity/assertion/sign.js';
import type { VerifiedClaims } from '../src/identity/bearer/verify.js';
import { identityFromBearer } from '../src/identity/from-bearer.js';
import { credentialKey, VerifiedCache } from '../src/identity/verified-cache.js';
import { importPrivateKey } from '../src/keys/import-key.js';
import { loadSigningKeys } from '../src/keys/load.js';
import { issueSessionHandle } from '../src/identity/session/handle.js';
import { VerifiedHandles } from '../src/identity/session/handle-cache.js';
import { newSessionId } from '../src/identity/session/issue.js';

const { values } = parseArgs({ options: { entries: { type: 'string', default: '100000' } } });
const entries = Number(values.entries);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

function heapAfterGc(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

const now = Math.floor(Date.now() / 1000);
function claimsOf(i: number): VerifiedClaims {
  // As the verifier returns them: the parsed payload of a distinct token.
  return JSON.parse(
    JSON.stringify({
      iss: 'https://idp.bench.example',
      aud: 'https://api.bench.example',
      sub: `user-${i}`,
      email: `user-${i}@example.com`,
      email_verified: true,
      name: `User ${i}`,
      groups: ['reader', 'writer'],
      client_id: 'bench-client',
      scope: 'openid profile email orders:write',
      iat: now,
      exp: now + 86_400,
      jti: randomUUID(),
    }),
  ) as VerifiedClaims;
}

// The verified-handle cache: the handles are signed first (they are the browsers' cookies, not
// the cache's), so only what the cache keeps is counted.
const handleRing = await loadSigningKeys({ files: [], development: true });
const iat = Math.floor(Date.now() / 1000);
const cookies: string[] = [];
for (let i = 0; i < entries; i++) {
  const cookie = await issueSessionHandle(handleRing, newSessionId(), { iat, exp: iat + 86_400 });
  // A flat copy, as a parsed header value is: so flattening the concatenation is not counted.
  cookies.push(Buffer.from(cookie, 'latin1').toString('latin1'));
}
// WebCrypto's jobs are released only after the event loop turns.
await new Promise((resolve) => setTimeout(resolve, 200));
const beforeHandles = heapAfterGc();
const handles = new VerifiedHandles(handleRing, { clockToleranceSeconds: 30, capacity: entries });
for (const cookie of cookies) await handles.verify(cookie, new Date());
await new Promise((resolve) => setTimeout(resolve, 200));
const afterHandles = heapAfterGc();
const perHandle = (afterHandles - beforeHandles) / entries;
cookies.length = 0;

// The verified-token cache: what resolve.ts stores on a miss.
const base = heapAfterGc();
const verified = new VerifiedCache<string>({ capacity: entries });
for (let i = 0; i < entries; i++) {
  const token = `eyJ.${randomUUID()}.${i}`;
  const key = credentialKey(token);
  const claims = claimsOf(i);
  verified.set(key, JSON.stringify(claims), claims.exp);
}
const afterVerified = heapAfterGc();

// The assertion cache: a signed ES256 assertion (Gatehouse's default key) per identity and host.
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const imported = await importPrivateKey(privateKey);
const ring = {
  signing: imported.signing,
  verification: new Map(),
  jwks: { keys: [] },
  generated: false,
};
const assertions = new AssertionCache({ ttlSeconds: 300, capacity: entries });
for (let i = 0; i < entries; i++) {
  const identity = identityFromBearer(claimsOf(i));
  await assertions.get(assertionKey(identity), 'app.example.com', (at) =>
    signAssertion(ring, { issuer: 'gatehouse', audience: 'app.example.com', identity, now: at }),
  );
}
// The assertion cache keeps only its key and the signed JWT; the identities above are garbage.
const afterAssertions = heapAfterGc();

const perVerified = (afterVerified - base) / entries;
const perAssertion = (afterAssertions - afterVerified) / entries;
console.log(
  [
    `entries: ${entries} of each (held: ${verified.size} verified, ${assertions.size} assertions)`,
    `verified-token cache: ${Math.round(perVerified)} bytes per entry, ${((perVerified * 10_000) / 2 ** 20).toFixed(1)} MiB per 10,000`,
    `assertion cache: ${Math.round(perAssertion)} bytes per entry, ${((perAssertion * 10_000) / 2 ** 20).toFixed(1)} MiB per 10,000`,
    `verified-handle cache (${handles.size} held): ${Math.round(perHandle)} bytes per entry, ${((perHandle * 10_000) / 2 ** 20).toFixed(1)} MiB per 10,000`,
  ].join('\n'),
);

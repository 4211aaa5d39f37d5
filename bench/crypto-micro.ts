/**
 * Micro-benchmark of the signature work on a cache miss, as ratios measured in the same run (so
 * a busy machine shifts both sides alike): jose's `jwtVerify` (WebCrypto, an async crypto job
 * per call) against Gatehouse's bearer verifier (node:crypto one-shot `verify` on a cached
 * KeyObject, src/identity/bearer/signature.ts), and jose's `SignJWT` against one-shot `sign` for the
 * identity assertion, for RS256 and ES256.
 *
 * Usage: taskset -c 1 node dist/bench/crypto-micro.js [--ms 1500]   (one core, as the benchmark)
 */
import { parseArgs } from 'node:util';
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type CryptoKey,
} from 'jose';
import { createBearerVerifier } from '../src/identity/bearer/verify.js';
import { signAssertion } from '../src/identity/assertion/sign.js';
import { importPrivateKey } from '../src/keys/import-key.js';
import { KeyObject } from 'node:crypto';

const { values } = parseArgs({ options: { ms: { type: 'string', default: '1500' } } });
const budgetMs = Number(values.ms);
const ISSUER = 'https://idp.bench.example';
const AUDIENCE = 'https://api.bench.example';

/**
 * Operations per CPU second of `fn` (user + system time of the whole process, thread pool
 * included), `concurrency` at a time, for about `budgetMs` of wall time. CPU time, not wall
 * time: WebCrypto's jobs run on the thread pool and would look cheaper on a second idle core
 * than they are on the one core the benchmark gives each system, and a busy machine shifts wall
 * time far more than CPU time.
 */
async function rate(fn: (i: number) => Promise<unknown>, concurrency = 64): Promise<number> {
  // Warm-up: JIT and key caches.
  for (let i = 0; i < 200; i++) await fn(i);
  const start = performance.now();
  const cpu = process.cpuUsage();
  let done = 0;
  while (performance.now() - start < budgetMs) {
    const batch: Promise<unknown>[] = [];
    for (let j = 0; j < concurrency; j++) batch.push(fn(done + j));
    await Promise.all(batch);
    done += concurrency;
  }
  const used = process.cpuUsage(cpu);
  return (done * 1e6) / (used.user + used.system);
}

async function tokens(alg: 'RS256' | 'ES256', count: number) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: `k-${alg}`, alg, use: 'sig' };
  const now = Math.floor(Date.now() / 1000);
  const list: string[] = [];
  for (let i = 0; i < count; i++)
    list.push(
      await new SignJWT({ groups: ['reader'], client_id: 'bench', jti: `t${i}` })
        .setProtectedHeader({ alg, kid: jwk.kid, typ: 'at+jwt' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject(`user-${i}`)
        .setIssuedAt(now)
        .setExpirationTime(now + 3600)
        .sign(privateKey),
    );
  return { jwks: { keys: [jwk] }, list, privateKey };
}

const rows: string[] = [];
for (const alg of ['RS256', 'ES256'] as const) {
  const { jwks, list, privateKey } = await tokens(alg, 1000);
  const local = createLocalJWKSet(jwks);
  const viaJose = (i: number) =>
    jwtVerify(list[i % list.length] as string, local, {
      algorithms: [alg],
      issuer: ISSUER,
      audience: AUDIENCE,
      requiredClaims: ['sub', 'iat', 'exp'],
    });
  const verifier = createBearerVerifier({
    issuer: ISSUER,
    audience: [AUDIENCE],
    keys: local,
    algorithms: [alg],
  });
  const viaGatehouse = (i: number) => verifier(list[i % list.length] as string);
  const joseVerify = await rate(viaJose);
  const ownVerify = await rate(viaGatehouse);
  rows.push(
    `${alg} verify: jose jwtVerify ${Math.round(joseVerify)}/CPU s, Gatehouse verifier ${Math.round(ownVerify)}/CPU s: ${(ownVerify / joseVerify).toFixed(2)}×`,
  );

  const ring = await importPrivateKey(KeyObject.from(privateKey as CryptoKey));
  const identity = {
    authenticated: true,
    claims: {},
    issued_at: 0,
    expires_at: 0,
    sub: 'alice',
    email: 'alice@example.com',
    email_verified: true,
    name: 'Alice',
    groups: ['reader'],
    session_id: null,
    method: 'bearer',
  } as const;
  const viaSignJwt = () =>
    new SignJWT({ groups: ['reader'] })
      .setProtectedHeader({ alg, kid: 'k', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience('app.example.com')
      .setSubject('alice')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
  const viaAssertion = () =>
    signAssertion(
      { signing: ring.signing, verification: new Map(), jwks: { keys: [] }, generated: false },
      { issuer: ISSUER, audience: 'app.example.com', identity },
    );
  const joseSign = await rate(viaSignJwt);
  const ownSign = await rate(viaAssertion);
  rows.push(
    `${alg} sign:   jose SignJWT ${Math.round(joseSign)}/CPU s, signAssertion ${Math.round(ownSign)}/CPU s: ${(ownSign / joseSign).toFixed(2)}×`,
  );
}
console.log(rows.join('\n'));

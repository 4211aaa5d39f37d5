/**
 * The bearer verifier checks common signatures with node:crypto (src/identity/bearer/signature.ts) rather
 * than jose's WebCrypto path. Differential test: on a corpus of valid and hostile tokens, the
 * verifier's verdict (accepted, expired, refused) is exactly jose `jwtVerify`'s with the same key
 * set and options — the reference the verifier used for every token before.
 */
import assert from 'node:assert/strict';
import {
  generateKeyPairSync,
  KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
} from 'node:crypto';
import { test } from 'node:test';
import {
  base64url,
  createLocalJWKSet,
  errors,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWK,
} from 'jose';
import { signatureCheck } from '../../../../src/identity/bearer/signature.js';
import { createBearerVerifier } from '../../../../src/identity/bearer/verify.js';
import { GatehouseError } from '../../../../src/errors/gatehouse-error.js';
import { derToRaw, rawToDer } from '../../../../src/keys/ecdsa-signature.js';

const ISSUER = 'https://idp.example.test';
const AUDIENCE = 'api://gatehouse-test';
const NOW = new Date('2026-06-01T00:00:00Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const ALGORITHMS = ['RS256', 'ES256', 'ES384', 'PS256', 'EdDSA'];

interface Key {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function key(kid: string, alg: string) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

const keys: Record<string, Key> = {
  rs: await key('rs', 'RS256'),
  es: await key('es', 'ES256'),
  es384: await key('es384', 'ES384'),
  ps: await key('ps', 'PS256'),
  ed: await key('ed', 'EdDSA'),
  // Not in the published set: signs forgeries.
  rogueRs: await key('rs', 'RS256'),
  rogueEs: await key('es', 'ES256'),
};
// jose refuses to make or sign with an RSA key under 2048 bits: node:crypto makes this one.
const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
const weakJwk = {
  ...weak.publicKey.export({ format: 'jwk' }),
  kid: 'weak',
  alg: 'RS256',
  use: 'sig',
};
const jwks = {
  keys: [
    ...[keys['rs'], keys['es'], keys['es384'], keys['ps'], keys['ed']].map((k) => (k as Key).jwk),
    weakJwk as JWK,
  ],
};
const local = createLocalJWKSet(jwks);

const CLAIMS = { client_id: 'app', groups: ['reader'], jti: 'token-1' };
/** A valid access token's payload, for tokens signed by hand below. */
const VALID_PAYLOAD = JSON.stringify({
  ...CLAIMS,
  iss: ISSUER,
  aud: AUDIENCE,
  sub: 'alice',
  iat: NOW_S,
  exp: NOW_S + 600,
});

function token(
  k: Key,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
  times: { iat?: number; exp?: number } = {},
): Promise<string> {
  // Every claim through the payload (no setters): a test claim overrides, `undefined` removes.
  return new SignJWT({
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'alice',
    iat: times.iat ?? NOW_S - 60,
    exp: times.exp ?? NOW_S + 600,
    ...CLAIMS,
    ...claims,
  })
    .setProtectedHeader({ alg: k.alg, kid: k.kid, typ: 'at+jwt', ...header })
    .sign(k.privateKey);
}

/** A compact RS256 JWS signed with node:crypto over any header and payload. */
function rawJws(header: object, payload: string, privateKey: KeyObject): string {
  const input = `${base64url.encode(JSON.stringify(header))}.${base64url.encode(payload)}`;
  const sig = nodeSign('sha256', Buffer.from(input), privateKey);
  return `${input}.${base64url.encode(sig)}`;
}

function swapSegment(jws: string, index: number, value: string): string {
  const parts = jws.split('.');
  parts[index] = value;
  return parts.join('.');
}

async function corpus(): Promise<Record<string, string>> {
  const rs = keys['rs'] as Key;
  const es = keys['es'] as Key;
  const valid: Record<string, string> = {
    'RS256 valid': await token(rs),
    'ES256 valid': await token(es),
    'ES384 valid': await token(keys['es384'] as Key),
    'PS256 valid': await token(keys['ps'] as Key),
    'EdDSA valid': await token(keys['ed'] as Key),
  };
  const sigOf = (jws: string) => jws.split('.')[2] as string;
  const tampered = base64url.encode(
    JSON.stringify({
      ...CLAIMS,
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'mallory',
      iat: NOW_S,
      exp: NOW_S + 600,
    }),
  );
  const rsSig = Buffer.from(sigOf(valid['RS256 valid'] as string), 'base64url');
  const esSig = Buffer.from(sigOf(valid['ES256 valid'] as string), 'base64url');
  const flipped = (sig: Buffer) => {
    const copy = Buffer.from(sig);
    copy[copy.length - 1] = (copy[copy.length - 1] ?? 0) ^ 1;
    return base64url.encode(copy);
  };
  return {
    ...valid,
    'RS256 payload swapped': swapSegment(valid['RS256 valid'] as string, 1, tampered),
    'ES256 payload swapped': swapSegment(valid['ES256 valid'] as string, 1, tampered),
    'RS256 signature bit flipped': swapSegment(valid['RS256 valid'] as string, 2, flipped(rsSig)),
    'ES256 signature bit flipped': swapSegment(valid['ES256 valid'] as string, 2, flipped(esSig)),
    // 4n + 1 characters: no base64 (Buffer would drop the last one).
    'RS256 signature and three characters more': swapSegment(
      valid['RS256 valid'] as string,
      2,
      `${sigOf(valid['RS256 valid'] as string)}AAA`,
    ),
    'ES256 signature and one character more': swapSegment(
      valid['ES256 valid'] as string,
      2,
      `${sigOf(valid['ES256 valid'] as string)}A`,
    ),
    'payload with a leading BOM (valid signature)': rawJws(
      { alg: 'RS256', kid: 'rs', typ: 'at+jwt' },
      `\uFEFF${VALID_PAYLOAD}`,
      KeyObject.from(rs.privateKey),
    ),
    'RS256 signature truncated': swapSegment(
      valid['RS256 valid'] as string,
      2,
      base64url.encode(rsSig.subarray(1)),
    ),
    'ES256 signature 63 bytes': swapSegment(
      valid['ES256 valid'] as string,
      2,
      base64url.encode(esSig.subarray(1)),
    ),
    'ES256 signature 65 bytes': swapSegment(
      valid['ES256 valid'] as string,
      2,
      base64url.encode(Buffer.concat([Buffer.from([0]), esSig])),
    ),
    'ES256 signature as DER': swapSegment(
      valid['ES256 valid'] as string,
      2,
      base64url.encode(rawToDer(esSig, 32)),
    ),
    'ES256 signature zero': swapSegment(
      valid['ES256 valid'] as string,
      2,
      base64url.encode(Buffer.alloc(64)),
    ),
    'ES256 r and s swapped': swapSegment(
      valid['ES256 valid'] as string,
      2,
      base64url.encode(Buffer.concat([esSig.subarray(32), esSig.subarray(0, 32)])),
    ),
    'ES256 signature of another token': swapSegment(
      valid['ES256 valid'] as string,
      2,
      sigOf(await token(es, { jti: 'other' })),
    ),
    'RS256 signed by a rogue key with the same kid': await token(keys['rogueRs'] as Key),
    'ES256 signed by a rogue key with the same kid': await token(keys['rogueEs'] as Key),
    'ES256 header over the RSA kid': swapSegment(
      valid['RS256 valid'] as string,
      0,
      base64url.encode(JSON.stringify({ alg: 'ES256', kid: 'rs', typ: 'at+jwt' })),
    ),
    'RS256 header over the EC kid': swapSegment(
      valid['ES256 valid'] as string,
      0,
      base64url.encode(JSON.stringify({ alg: 'RS256', kid: 'es', typ: 'at+jwt' })),
    ),
    'PS256 header with an RS256 signature': swapSegment(
      valid['RS256 valid'] as string,
      0,
      base64url.encode(JSON.stringify({ alg: 'PS256', kid: 'ps', typ: 'at+jwt' })),
    ),
    'RS256 with a 1024-bit key': rawJws(
      { alg: 'RS256', kid: 'weak', typ: 'at+jwt' },
      VALID_PAYLOAD,
      weak.privateKey,
    ),
    'RS256 with a 1024-bit key, crit b64 true': rawJws(
      { alg: 'RS256', kid: 'weak', typ: 'at+jwt', crit: ['b64'], b64: true },
      VALID_PAYLOAD,
      weak.privateKey,
    ),
    'unknown kid': await token(keys['rogueRs'] as Key, {}, { kid: 'nobody' }),
    // Two RS256 keys in the set: jose will not guess.
    'no kid, RS256': await token(rs, {}, { kid: undefined }),
    'no kid, ES256': await token(es, {}, { kid: undefined }),
    'expired ES256': await token(es, {}, {}, { iat: NOW_S - 7200, exp: NOW_S - 3600 }),
    'expired RS256': await token(rs, {}, {}, { iat: NOW_S - 7200, exp: NOW_S - 3600 }),
    'not yet valid': await token(es, { nbf: NOW_S + 3600 }),
    'wrong audience': await token(es, { aud: 'api://elsewhere' }),
    'wrong issuer': await token(rs, { iss: 'https://evil.example' }),
    'no sub': await token(rs, { sub: undefined }),
    'exp a string': await token(es, { exp: 'tomorrow' }),
    'crit b64 false': rawJws(
      { alg: 'RS256', kid: 'rs', typ: 'at+jwt', crit: ['b64'], b64: false },
      VALID_PAYLOAD,
      KeyObject.from(rs.privateKey),
    ),
    'crit b64 true': await token(es, {}, { crit: ['b64'], b64: true }),
    'crit unknown extension': rawJws(
      { alg: 'RS256', kid: 'rs', typ: 'at+jwt', crit: ['urn:example:ext'], 'urn:example:ext': 1 },
      VALID_PAYLOAD,
      KeyObject.from(rs.privateKey),
    ),
    'RS256 signed by node:crypto (control)': rawJws(
      { alg: 'RS256', kid: 'rs', typ: 'at+jwt' },
      VALID_PAYLOAD,
      KeyObject.from(rs.privateKey),
    ),
    'payload not JSON (valid signature)': await (async () => {
      const header = base64url.encode(JSON.stringify({ alg: 'RS256', kid: 'rs', typ: 'at+jwt' }));
      const input = `${header}.${base64url.encode('[1,2,3]')}`;
      const signed = await crypto.subtle.sign(
        'RSASSA-PKCS1-v1_5',
        rs.privateKey,
        Buffer.from(input),
      );
      return `${input}.${base64url.encode(new Uint8Array(signed))}`;
    })(),
  };
}

/**
 * The verdict: accepted, expired, or refused; `outage` (a token read as a JWKS failure) is never
 * jose's verdict, so a hostile token that makes the verifier throw a non-jose error fails the test.
 */
type Verdict = 'accepted' | 'expired' | 'refused' | 'outage';

async function joseVerdict(jws: string): Promise<Verdict> {
  try {
    await jwtVerify(jws, local, {
      algorithms: ALGORITHMS,
      issuer: ISSUER,
      audience: [AUDIENCE],
      currentDate: NOW,
      clockTolerance: 30,
      requiredClaims: ['sub', 'iat', 'exp'],
    });
    return 'accepted';
  } catch (err) {
    return err instanceof errors.JWTExpired ? 'expired' : 'refused';
  }
}

const verify = createBearerVerifier({
  issuer: ISSUER,
  audience: [AUDIENCE],
  keys: local,
  algorithms: ALGORITHMS,
});

async function gatehouseVerdict(jws: string): Promise<Verdict> {
  try {
    await verify(jws, NOW);
    return 'accepted';
  } catch (err) {
    const code = GatehouseError.from(err).code;
    if (code === 'ERR_JWKS_UNAVAILABLE') return 'outage';
    return code === 'ERR_TOKEN_EXPIRED' ? 'expired' : 'refused';
  }
}

test('signature: node:crypto is used for RS256, ES256, ES384 and EdDSA keys from the JWK set', async () => {
  for (const [kid, alg] of [
    ['rs', 'RS256'],
    ['es', 'ES256'],
    ['es384', 'ES384'],
    ['ed', 'EdDSA'],
  ] as const) {
    const k = await local({ alg, kid });
    assert.notEqual(signatureCheck(alg, k), undefined, `${alg} takes the node:crypto path`);
  }
  // jose keeps what this module does not handle exactly.
  assert.equal(signatureCheck('PS256', await local({ alg: 'PS256', kid: 'ps' })), undefined);
  assert.equal(signatureCheck('RS256', await local({ alg: 'RS256', kid: 'weak' })), undefined);
  assert.equal(signatureCheck('ES256', await local({ alg: 'RS256', kid: 'rs' })), undefined);
  assert.equal(signatureCheck('RS256', new Uint8Array(32)), undefined);
});

test('signature: the verifier gives jose jwtVerify’s verdict on every token of the corpus', async () => {
  const tokens = await corpus();
  const accepted: string[] = [];
  for (const [name, jws] of Object.entries(tokens)) {
    const expected = await joseVerdict(jws);
    assert.equal(await gatehouseVerdict(jws), expected, name);
    if (expected === 'accepted') accepted.push(name);
  }
  // The corpus holds both verdicts (a corpus of refusals only would prove nothing).
  assert.deepEqual(accepted.sort(), [
    'ES256 valid',
    'ES384 valid',
    'EdDSA valid',
    'PS256 valid',
    'RS256 signed by node:crypto (control)',
    'RS256 valid',
    'crit b64 true',
    'no kid, ES256',
    'payload with a leading BOM (valid signature)',
  ]);
});

test('ECDSA signatures: DER and the JWS form convert both ways, exactly', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const data = Buffer.from('gatehouse');
  // Enough signatures that some r or s start with a zero byte or a high bit.
  for (let i = 0; i < 600; i++) {
    const der = nodeSign('sha256', data, privateKey);
    const raw = derToRaw(der, 32);
    assert.equal(raw.length, 64);
    assert.ok(nodeVerify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw));
    assert.deepEqual(rawToDer(raw, 32), der);
  }
  // Leading zero bytes and high bits, built by hand.
  const raw = Buffer.alloc(64);
  raw[31] = 1;
  raw[32] = 0x80;
  const der = rawToDer(raw, 32);
  assert.deepEqual(der.subarray(0, 5), Buffer.from([0x30, 2 + 1 + 2 + 33, 0x02, 1, 1]));
  assert.deepEqual(derToRaw(der, 32), raw);
  assert.throws(() => derToRaw(Buffer.from([0x30, 3, 0x02, 1, 1]), 32));
  assert.throws(() => derToRaw(Buffer.concat([der, Buffer.from([0])]), 32));
});

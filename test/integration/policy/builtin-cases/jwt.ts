/**
 * Differential cases for the `io.jwt.*` verification and signing builtins. Tokens are signed
 * here with node:crypto; keys are the X.509 fixtures in test/testdata/x509 plus keys generated
 * in memory, handed to both OPA and Gatehouse as PEM, JWK and JWK Set text.
 */
import {
  constants,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { testdata } from '../../../support/paths.js';

const read = (name: string): string => readFileSync(testdata('x509', name), 'utf8');
const q = (s: string): string => JSON.stringify(s); // a Rego string literal
const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64url');

const rsaKey = createPrivateKey(read('leaf.key'));
const rsaCert = read('leaf.pem');
const ecKey = createPrivateKey(read('ca.key')); // P-256
const ecCert = read('ca.pem');
const otherCert = read('other.pem'); // Ed25519, unrelated
const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const ec521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
const ed = generateKeyPairSync('ed25519');
const secret = 'secret';

const pubPem = (k: KeyObject): string =>
  createPublicKey(k).export({ type: 'spki', format: 'pem' }).toString();
const pubJwk = (k: KeyObject, extra: Record<string, string> = {}): Record<string, unknown> => ({
  ...createPublicKey(k).export({ format: 'jwk' }),
  ...extra,
});
const privJwk = (k: KeyObject, extra: Record<string, string> = {}): Record<string, unknown> => ({
  ...k.export({ format: 'jwk' }),
  ...extra,
});

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

/** A compact JWS over exactly `header` and `payload`, signed with `alg`. */
function token(
  alg: string,
  key: KeyObject | string,
  header: Record<string, unknown>,
  payload: unknown,
  pssSalt = 32,
): string {
  const input = `${b64(JSON.stringify({ alg, ...header }))}.${b64(typeof payload === 'string' ? payload : JSON.stringify(payload))}`;
  const hash = HASH[alg.slice(2)] ?? 'sha256';
  let sig: Buffer;
  if (typeof key === 'string') sig = createHmac(hash, key).update(input).digest();
  else if (alg === 'EdDSA') sig = sign(null, Buffer.from(input), key);
  // PSS salt 32 bytes unless told: verify_ps* accepts any salt, decode_verify only the digest length.
  else if (alg.startsWith('PS'))
    sig = sign(hash, Buffer.from(input), {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: pssSalt,
    });
  else if (alg.startsWith('ES'))
    sig = sign(hash, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  else sig = sign(hash, Buffer.from(input), key);
  return `${input}.${b64(sig)}`;
}

const claims = {
  sub: 'alice',
  iss: 'https://issuer.test',
  aud: 'gatehouse',
  nbf: 1600000000,
  exp: 4000000000,
};
const rs = token('RS256', rsaKey, { typ: 'JWT', kid: 'rsa-1' }, claims);
const ps = token('PS384', rsaKey, {}, claims);
const es = token('ES256', ecKey, { kid: 'ec-1' }, claims);
const es384 = token('ES384', ec384.privateKey, {}, claims);
const es521 = token('ES512', ec521.privateKey, {}, claims);
const eddsa = token('EdDSA', ed.privateKey, {}, claims);
const hs = token('HS256', secret, { typ: 'JWT' }, claims);
const hs512 = token('HS512', secret, {}, claims);
const tampered = `${rs.slice(0, rs.lastIndexOf('.') - 4)}AAAA${rs.slice(rs.lastIndexOf('.'))}`;
// An RSA public key's PEM text used as an HMAC secret: the classic algorithm confusion.
const confused = token('HS256', pubPem(rsaKey), {}, claims);
const none = `${b64(JSON.stringify({ alg: 'none' }))}.${b64(JSON.stringify(claims))}.`;
const nestedInner = token('HS256', secret, {}, { sub: 'inner' });
const nested = token('HS256', secret, { cty: 'JWT' }, nestedInner);
const crit = token('HS256', secret, { crit: ['exp'], exp: 1 }, claims);
const critKnown = token('HS256', secret, { crit: ['kid'], kid: 'x' }, claims);
const noAud = token('HS256', secret, {}, { sub: 'x' });
const audList = token('HS256', secret, {}, { aud: ['a', 'gatehouse'] });
const badExp = token('HS256', secret, {}, { exp: '4000000000' });
const notObject = token('HS256', secret, {}, '[1,2]');

const jwks = JSON.stringify({
  keys: [
    pubJwk(ecKey, { kid: 'ec-1', alg: 'ES256' }),
    pubJwk(rsaKey, { kid: 'rsa-1', alg: 'RS256' }),
  ],
});
const jwksWrongAlg = JSON.stringify({ keys: [pubJwk(rsaKey, { alg: 'PS256' })] });
const rsaJwk = JSON.stringify(pubJwk(rsaKey));
const octJwk = JSON.stringify({ kty: 'oct', k: b64(secret) });

const T_NS = 1700000000000000000; // 2023-11-14, inside every claims window above
const dv = (tok: string, constraints: string): string =>
  `io.jwt.decode_verify(${q(tok)}, ${constraints})`;

/** Rego expressions. */
export const JWT_CASES: readonly string[] = [
  // io.jwt.verify_* with certificates, PEM public keys, JWKs and JWK Sets
  `io.jwt.verify_rs256(${q(rs)}, ${q(rsaCert)})`,
  `io.jwt.verify_rs256(${q(rs)}, ${q(pubPem(rsaKey))})`,
  `io.jwt.verify_rs256(${q(rs)}, ${q(rsaJwk)})`,
  `io.jwt.verify_rs256(${q(rs)}, ${q(jwks)})`,
  `io.jwt.verify_rs256(${q(rs)}, ${q(jwksWrongAlg)})`,
  `io.jwt.verify_rs256(${q(tampered)}, ${q(rsaCert)})`,
  `io.jwt.verify_rs256(${q(rs)}, ${q(ecCert)})`,
  `io.jwt.verify_rs256(${q(rs)}, ${q(`${rsaCert}\n`)})`,
  `io.jwt.verify_rs256(${q(rs)}, "not a key")`,
  `io.jwt.verify_rs256("a.b", ${q(rsaCert)})`,
  `io.jwt.verify_rs384(${q(rs)}, ${q(rsaCert)})`,
  `io.jwt.verify_rs512(${q(token('RS512', rsaKey, {}, claims))}, ${q(rsaCert)})`,
  `io.jwt.verify_rs384(${q(token('RS384', rsaKey, {}, claims))}, ${q(rsaCert)})`,
  `io.jwt.verify_ps384(${q(ps)}, ${q(rsaCert)})`,
  `io.jwt.verify_ps256(${q(ps)}, ${q(rsaCert)})`,
  `io.jwt.verify_ps256(${q(token('PS256', rsaKey, {}, claims))}, ${q(rsaJwk)})`,
  `io.jwt.verify_ps512(${q(token('PS512', rsaKey, {}, claims))}, ${q(pubPem(rsaKey))})`,
  `io.jwt.verify_es256(${q(es)}, ${q(ecCert)})`,
  `io.jwt.verify_es256(${q(es)}, ${q(jwks)})`,
  `io.jwt.verify_es256(${q(es)}, ${q(rsaCert)})`,
  `io.jwt.verify_es384(${q(es384)}, ${q(pubPem(ec384.privateKey))})`,
  `io.jwt.verify_es512(${q(es521)}, ${q(JSON.stringify(pubJwk(ec521.privateKey)))})`,
  `io.jwt.verify_es512(${q(es384)}, ${q(pubPem(ec384.privateKey))})`,
  `io.jwt.verify_eddsa(${q(eddsa)}, ${q(pubPem(ed.privateKey))})`,
  `io.jwt.verify_eddsa(${q(eddsa)}, ${q(otherCert)})`,
  `io.jwt.verify_hs256(${q(hs)}, "secret")`,
  `io.jwt.verify_hs256(${q(hs)}, "wrong")`,
  `io.jwt.verify_hs512(${q(hs512)}, "secret")`,
  `io.jwt.verify_hs384(${q(token('HS384', secret, {}, 'not json'))}, "secret")`,
  `io.jwt.verify_hs256("a.b.!!", "secret")`,
  `io.jwt.verify_hs256(${q(confused)}, ${q(pubPem(rsaKey))})`,
  `io.jwt.verify_rs256(${q(confused)}, ${q(pubPem(rsaKey))})`,
  // io.jwt.decode_verify
  dv(hs, `{"secret": "secret", "time": ${T_NS}, "aud": "gatehouse"}`),
  dv(hs, `{"secret": "secret", "time": ${T_NS}}`),
  dv(hs, `{"secret": "wrong", "time": ${T_NS}, "aud": "gatehouse"}`),
  dv(hs, `{"secret": "secret", "time": ${T_NS}, "aud": "gatehouse", "iss": "https://issuer.test"}`),
  dv(hs, `{"secret": "secret", "time": ${T_NS}, "aud": "gatehouse", "iss": "https://other.test"}`),
  dv(hs, `{"secret": "secret", "time": ${T_NS}, "aud": "gatehouse", "alg": "HS512"}`),
  dv(hs, `{"secret": "secret", "time": 4000000000000000000, "aud": "gatehouse"}`),
  dv(hs, `{"secret": "secret", "time": 3999999999999999999, "aud": "gatehouse"}`),
  dv(hs, `{"secret": "secret", "time": 1600000000000000000, "aud": "gatehouse"}`),
  dv(hs, `{"secret": "secret", "time": 1599999999000000000, "aud": "gatehouse"}`),
  dv(hs, `{"secret": "secret", "time": -1}`),
  dv(hs, `{"secret": "secret", "unknown": 1}`),
  dv(hs, `{"secret": ""}`),
  dv(hs, `{"secret": "secret", "cert": ${q(rsaCert)}}`),
  dv(hs, `{"cert": ${q(octJwk)}, "time": ${T_NS}, "aud": "gatehouse"}`),
  dv(hs, `{"secret": "secret", "aud": "gatehouse"}`),
  dv(hs512, `{"secret": "secret", "time": ${T_NS}, "aud": "gatehouse"}`),
  dv(rs, `{"cert": ${q(rsaCert)}, "time": ${T_NS}, "aud": "gatehouse"}`),
  dv(rs, `{"cert": ${q(jwks)}, "time": ${T_NS}, "aud": "gatehouse"}`),
  dv(rs, `{"cert": ${q(jwksWrongAlg)}, "time": ${T_NS}, "aud": "gatehouse"}`),
  dv(rs, `{"cert": ${q(ecCert)}, "time": ${T_NS}, "aud": "gatehouse"}`),
  dv(rs, `{"secret": "secret", "time": ${T_NS}, "aud": "gatehouse"}`),
  dv(tampered, `{"cert": ${q(rsaCert)}, "time": ${T_NS}, "aud": "gatehouse"}`),
  dv(ps, `{"cert": ${q(rsaCert)}, "time": ${T_NS}, "aud": "gatehouse"}`),
  dv(es, `{"cert": ${q(ecCert)}, "time": ${T_NS}, "aud": "gatehouse"}`),
  dv(es, `{"cert": ${q(jwks)}, "time": ${T_NS}, "aud": "gatehouse"}`),
  dv(es384, `{"cert": ${q(pubPem(ec384.privateKey))}, "time": ${T_NS}, "aud": "gatehouse"}`),
  dv(
    token('ES256', ec384.privateKey, {}, claims),
    `{"cert": ${q(pubPem(ec384.privateKey))}, "time": ${T_NS}, "aud": "gatehouse"}`,
  ),
  dv(
    token('PS384', rsaKey, {}, claims, 48),
    `{"cert": ${q(rsaCert)}, "time": ${T_NS}, "aud": "gatehouse"}`,
  ),
  dv(
    token('RS256', rsaKey, {}, claims),
    `{"cert": ${q(JSON.stringify(privJwk(rsaKey)))}, "time": ${T_NS}, "aud": "gatehouse"}`,
  ),
  `io.jwt.verify_rs256(${q(rs)}, ${q(JSON.stringify(privJwk(rsaKey)))})`,
  dv(es521, `{"cert": ${q(pubPem(ec521.privateKey))}, "time": ${T_NS}, "aud": "gatehouse"}`),
  dv(eddsa, `{"cert": ${q(pubPem(ed.privateKey))}, "time": ${T_NS}, "aud": "gatehouse"}`),
  dv(confused, `{"cert": ${q(pubPem(rsaKey))}, "time": ${T_NS}, "aud": "gatehouse"}`),
  dv(confused, `{"secret": ${q(pubPem(rsaKey))}, "time": ${T_NS}, "aud": "gatehouse"}`),
  dv(none, `{"secret": "secret", "time": ${T_NS}, "aud": "gatehouse"}`),
  dv(none, `{"cert": ${q(rsaCert)}, "time": ${T_NS}, "aud": "gatehouse"}`),
  dv(nested, `{"secret": "secret", "time": ${T_NS}}`),
  dv(crit, `{"secret": "secret", "time": ${T_NS}, "aud": "gatehouse"}`),
  dv(critKnown, `{"secret": "secret", "time": ${T_NS}, "aud": "gatehouse"}`),
  dv(noAud, `{"secret": "secret", "time": ${T_NS}}`),
  dv(noAud, `{"secret": "secret", "time": ${T_NS}, "aud": "x"}`),
  dv(audList, `{"secret": "secret", "time": ${T_NS}, "aud": "gatehouse"}`),
  dv(badExp, `{"secret": "secret", "time": ${T_NS}}`),
  dv(notObject, `{"secret": "secret", "time": ${T_NS}}`),
  dv('a.b', `{"secret": "secret"}`),
  // io.jwt.encode_sign / encode_sign_raw: deterministic algorithms compare byte for byte;
  // randomised ones (PS*, ES*) are checked by verifying the result.
  `io.jwt.encode_sign({"alg": "HS256", "typ": "JWT"}, {"sub": "a<b>&c", "n": 1, "z": [true, null]}, ${octJwk})`,
  `io.jwt.encode_sign({"alg": "HS512"}, {"b": 1, "a": 2}, {"keys": [${octJwk}]})`,
  `io.jwt.encode_sign({"alg": "RS256"}, {"sub": "alice"}, ${JSON.stringify(privJwk(rsaKey))})`,
  `io.jwt.encode_sign({"alg": "EdDSA"}, {"sub": "alice"}, ${JSON.stringify(privJwk(ed.privateKey))})`,
  `io.jwt.verify_ps256(io.jwt.encode_sign({"alg": "PS256"}, {"sub": "alice"}, ${JSON.stringify(privJwk(rsaKey))}), ${q(rsaCert)})`,
  `io.jwt.verify_es256(io.jwt.encode_sign({"alg": "ES256"}, {"sub": "alice"}, ${JSON.stringify(privJwk(ecKey))}), ${q(ecCert)})`,
  `io.jwt.verify_es384(io.jwt.encode_sign({"alg": "ES384"}, {"sub": "alice"}, ${JSON.stringify(privJwk(ec384.privateKey))}), ${q(pubPem(ec384.privateKey))})`,
  `io.jwt.encode_sign({"alg": "RS256"}, {"sub": "alice"}, ${JSON.stringify(pubJwk(rsaKey))})`,
  `io.jwt.encode_sign({"alg": "ES256"}, {"sub": "alice"}, ${JSON.stringify(privJwk(rsaKey))})`,
  `io.jwt.encode_sign({"alg": "none"}, {"sub": "alice"}, ${octJwk})`,
  `io.jwt.encode_sign({"typ": "JWT"}, {"sub": "alice"}, ${octJwk})`,
  `io.jwt.encode_sign_raw(${q('{"alg":"HS256", "typ":"JWT"}')}, ${q('{"sub": "raw"}')}, ${q(octJwk)})`,
  `io.jwt.encode_sign_raw(${q('{"alg":"HS256"}')}, "not json", ${q(octJwk)})`,
  `io.jwt.encode_sign_raw(${q('{"alg":"HS256","typ":"text"}')}, "not json", ${q(octJwk)})`,
  `io.jwt.encode_sign_raw("{", "{}", ${q(octJwk)})`,
];

/**
 * The verification keys of OPA's `io.jwt.verify_*` and `io.jwt.decode_verify` (`cert`): one PEM
 * `CERTIFICATE` or `PUBLIC KEY` block, or a JWK or JWK Set (RFC 7517). Parsing is Node's
 * (`X509Certificate`, `createPublicKey`, `createSecretKey`); nothing here reads ASN.1.
 *
 * As in OPA: a PEM block must be the only content (nothing after its END line); JWKs whose
 * `alg` is not a JWS algorithm OPA knows are skipped; a `kid` and `alg` travel with each key.
 */
import {
  createPublicKey,
  createSecretKey,
  X509Certificate,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';

/** A key to verify with, and the `alg` and `kid` its JWK carried (empty for PEM). */
export interface VerificationKey {
  readonly key: KeyObject;
  readonly alg: string;
  readonly kid: string;
  /** A private JWK: OPA's `verify_*` refuse it (Go type check), `decode_verify` uses its public half. */
  readonly private: boolean;
}

/** The JWS algorithms OPA knows (`tokenAlgorithms`). */
export const JWS_ALGORITHMS: ReadonlySet<string> = new Set([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'HS256',
  'HS384',
  'HS512',
  'EdDSA',
]);

const PEM_BLOCK = /-----BEGIN ([^-\r\n]+)-----\r?\n[\s\S]*?-----END \1-----[ \t]*(?:\r?\n|$)/;

/** Keys from a PEM certificate or public key, or a JWK (Set); `undefined` when none parse. */
export function keysFromCertOrJwk(text: string): VerificationKey[] | undefined {
  const pem = PEM_BLOCK.exec(text);
  if (pem !== null) {
    if (pem.index + pem[0].length < text.length) return undefined; // Go: "extra data after a PEM certificate block"
    try {
      if (pem[1] === 'CERTIFICATE')
        return [{ key: new X509Certificate(pem[0]).publicKey, alg: '', kid: '', private: false }];
      if (pem[1] === 'PUBLIC KEY')
        return [
          {
            key: createPublicKey({ key: pem[0], format: 'pem' }),
            alg: '',
            kid: '',
            private: false,
          },
        ];
    } catch {
      return undefined;
    }
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const set = parsed as Record<string, unknown>;
  const jwks = Object.hasOwn(set, 'keys') ? set['keys'] : [set];
  if (!Array.isArray(jwks)) return undefined;
  const keys: VerificationKey[] = [];
  for (const jwk of jwks) {
    const key = keyFromJwk(jwk);
    if (key === undefined) return undefined;
    if (key.alg !== '' && !JWS_ALGORITHMS.has(key.alg)) continue;
    keys.push(key);
  }
  return keys;
}

/** One JWK as a key object: `oct` as a secret, everything else as a public key. */
export function keyFromJwk(jwk: unknown): VerificationKey | undefined {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return undefined;
  const record = jwk as Record<string, unknown>;
  const alg = record['alg'] ?? '';
  const kid = record['kid'] ?? '';
  if (typeof alg !== 'string' || typeof kid !== 'string') return undefined;
  try {
    if (record['kty'] === 'oct') {
      const k = record['k'];
      if (typeof k !== 'string') return undefined;
      return { key: createSecretKey(Buffer.from(k, 'base64url')), alg, kid, private: false };
    }
    return {
      key: createPublicKey({ key: record as JsonWebKey, format: 'jwk' }),
      alg,
      kid,
      private: Object.hasOwn(record, 'd'),
    };
  } catch {
    return undefined;
  }
}

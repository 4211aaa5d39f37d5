/**
 * The signature step of bearer verification with node:crypto's one-shot `verify` on a cached
 * `KeyObject`, instead of jose's WebCrypto `crypto.subtle.verify` (an asynchronous crypto job per
 * call: a thread-pool hop and several promises, the top self-time item of a cache-miss profile).
 *
 * Only the signature changes hands. jose still chooses the key (its JWK set, by `kid`/`alg`);
 * the payload is read and its claims validated with jose's rules by ./claims.ts (called from
 * ./verify.ts); and anything this module does not recognise exactly — another algorithm, a key that is not a public WebCrypto key
 * imported for that very algorithm, an RSA modulus under 2048 bits — gets `undefined`, and the
 * caller falls back to jose's own `jwtVerify`. A differential test (test/unit/identity/bearer/
 * signature.test.ts) holds both paths to the same verdicts on valid and hostile tokens.
 */
import { KeyObject, verify } from 'node:crypto';
import type { CryptoKey } from 'jose';
import { rawToDer } from '../../keys/ecdsa-signature.js';

/** Checks `signature` over `signingInput` (the ASCII `header.payload`); never throws. */
export type SignatureCheck = (signingInput: string, signature: Buffer) => boolean;

interface Spec {
  /** WebCrypto algorithm name the key must have been imported with. */
  readonly name: string;
  /** Its hash (RSA) or curve (EC); undefined for Ed25519. */
  readonly hash?: string;
  readonly curve?: string;
  /** node:crypto digest (null: the algorithm hashes itself). */
  readonly digest: string | null;
  /** ECDSA: the raw signature length (r ‖ s). */
  readonly rawLength?: number;
}

/**
 * The algorithms with a node:crypto path; the rest (PS256 among them: node's padding options
 * object costs more than it saves) always go through jose.
 */
const SPECS: Readonly<Record<string, Spec>> = Object.freeze({
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', digest: 'sha256' },
  ES256: { name: 'ECDSA', curve: 'P-256', digest: 'sha256', rawLength: 64 },
  ES384: { name: 'ECDSA', curve: 'P-384', digest: 'sha384', rawLength: 96 },
  EdDSA: { name: 'Ed25519', digest: null },
});

const MIN_RSA_BITS = 2048;

/** One KeyObject per verification CryptoKey (jose's JWK set caches the CryptoKeys themselves). */
const keyObjects = new WeakMap<CryptoKey, KeyObject>();

/**
 * A node:crypto check for `alg` with `key`, or undefined when this pair is not one of the exact
 * shapes handled here (the caller then uses jose).
 */
export function signatureCheck(alg: string, key: unknown): SignatureCheck | undefined {
  const spec = Object.hasOwn(SPECS, alg) ? SPECS[alg] : undefined;
  if (spec === undefined || !isCryptoKey(key) || !matches(spec, key)) return undefined;
  let keyObject = keyObjects.get(key);
  if (keyObject === undefined) {
    keyObject = KeyObject.from(key);
    keyObjects.set(key, keyObject);
  }
  const { digest, rawLength } = spec;
  const bare = keyObject;
  if (rawLength === undefined)
    return (signingInput, signature) => safeVerify(digest, signingInput, bare, signature);
  // ECDSA: the JWS form (r ‖ s) as DER, so node verifies with the bare KeyObject (faster than
  // its `dsaEncoding: 'ieee-p1363'` option; see src/keys/ecdsa-signature.ts).
  return (signingInput, signature) =>
    signature.length === rawLength &&
    safeVerify(digest, signingInput, bare, rawToDer(signature, rawLength / 2));
}

function safeVerify(
  digest: string | null,
  signingInput: string,
  key: KeyObject,
  signature: Buffer,
): boolean {
  try {
    return verify(digest, Buffer.from(signingInput, 'latin1'), key, signature);
  } catch {
    return false;
  }
}

function isCryptoKey(key: unknown): key is CryptoKey {
  return key instanceof globalThis.CryptoKey;
}

/** The key is a public verification key imported for exactly this algorithm (jose's own rule). */
function matches(spec: Spec, key: CryptoKey): boolean {
  // Public keys are extractable (jose's JWK set imports them so): KeyObject.from needs that.
  if (key.type !== 'public' || !key.extractable || !key.usages.includes('verify')) return false;
  const algorithm = key.algorithm as {
    name?: unknown;
    hash?: { name?: unknown };
    namedCurve?: unknown;
    modulusLength?: unknown;
  };
  if (algorithm.name !== spec.name) return false;
  if (spec.hash !== undefined) {
    if (algorithm.hash?.name !== spec.hash) return false;
    if (typeof algorithm.modulusLength !== 'number' || algorithm.modulusLength < MIN_RSA_BITS)
      return false;
  }
  if (spec.curve !== undefined && algorithm.namedCurve !== spec.curve) return false;
  return true;
}

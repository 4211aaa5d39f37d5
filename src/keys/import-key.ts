/**
 * Turning one private key (PEM or JWK) into a signing key, a verification key and its published
 * public JWK. Node's key parser reads the file (PKCS#8, SEC1 `EC PRIVATE KEY`, PKCS#1
 * `RSA PRIVATE KEY`, or a private JWK); jose imports the result. No cryptography happens here.
 */
import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, importJWK, importPKCS8, type JWK } from 'jose';
import { isSafeKid } from './jose-header.js';
import type { PublishedJwk, SigningAlgorithm, SigningKey, VerificationKey } from './key-ring.js';

/** A key ready for the ring. */
export interface ImportedKey {
  readonly signing: SigningKey;
  readonly verification: VerificationKey;
  readonly jwk: PublishedJwk;
}

/** RFC 7518 §3.3: RSA keys below 2048 bits are refused. */
const MIN_RSA_BITS = 2048;

/** The algorithm a key's type implies, or a reason it cannot sign. */
export function algorithmFor(key: KeyObject): SigningAlgorithm | string {
  if (key.type !== 'private') return 'not a private key';
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1') return 'ES256';
      if (curve === 'secp384r1') return 'ES384';
      return `unsupported EC curve ${String(curve)} (use P-256 or P-384)`;
    }
    case 'rsa': {
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      return bits >= MIN_RSA_BITS
        ? 'RS256'
        : `RSA key of ${bits} bits is too short (at least ${MIN_RSA_BITS})`;
    }
    case 'ed25519':
      return 'EdDSA';
    default:
      return `unsupported key type ${String(key.asymmetricKeyType)} (use EC P-256, EC P-384, RSA or Ed25519)`;
  }
}

/** Parse PEM text or a private JWK object into a Node key, or explain why not. */
export function parsePrivateKey(source: { pem: string } | { jwk: JWK }): KeyObject {
  if ('pem' in source) {
    if (
      source.pem.includes('ENCRYPTED PRIVATE KEY') ||
      /Proc-Type:\s*4,ENCRYPTED/.test(source.pem)
    ) {
      throw new Error(
        'encrypted PEM keys are not supported (store the key unencrypted, readable only by Gatehouse)',
      );
    }
    if (/-----BEGIN (?:RSA )?PUBLIC KEY-----|-----BEGIN CERTIFICATE-----/.test(source.pem)) {
      throw new Error('this is a public key or certificate; a private key is needed');
    }
    return createPrivateKey({ key: source.pem, format: 'pem' });
  }
  if (typeof source.jwk.d !== 'string') throw new Error('the JWK has no private part ("d")');
  if (source.jwk.use !== undefined && source.jwk.use !== 'sig')
    throw new Error(`the JWK "use" is ${JSON.stringify(source.jwk.use)}, not "sig"`);
  return createPrivateKey({ key: source.jwk as JsonWebKey, format: 'jwk' });
}

/**
 * Import one private key.
 *
 * @param declared the JWK's own `kid`/`alg`, when the key came from a JWK: the `kid` is kept, and
 *   an `alg` that disagrees with the key type is an error (never silently overridden).
 * @throws Error with a message naming the problem (the caller adds the file name).
 */
export async function importPrivateKey(
  key: KeyObject,
  declared: { kid?: unknown; alg?: unknown } = {},
): Promise<ImportedKey> {
  const alg = algorithmFor(key);
  if (!isAlgorithm(alg)) throw new Error(alg);
  if (declared.alg !== undefined && declared.alg !== alg) {
    throw new Error(
      `the JWK "alg" is ${JSON.stringify(declared.alg)} but the key type implies ${alg}`,
    );
  }
  const publicJwk = createPublicKey(key).export({ format: 'jwk' }) as JWK;
  let kid: string;
  if (declared.kid === undefined) {
    kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  } else if (isSafeKid(declared.kid)) {
    kid = declared.kid;
  } else {
    throw new Error('the JWK "kid" must be 1-256 printable ASCII characters without ".."');
  }
  const pkcs8 = key.export({ format: 'pem', type: 'pkcs8' }).toString();
  const privateKey = await importPKCS8(pkcs8, alg);
  const publicKey = await importJWK(publicJwk, alg);
  if (publicKey instanceof Uint8Array) throw new Error('unexpected symmetric key');
  const jwk = Object.freeze({ ...publicJwk, kid, alg, use: 'sig' as const });
  return {
    signing: Object.freeze({ kid, alg, privateKey, keyObject: key }),
    verification: Object.freeze({ alg, publicKey }),
    jwk,
  };
}

function isAlgorithm(value: string): value is SigningAlgorithm {
  return value === 'ES256' || value === 'ES384' || value === 'RS256' || value === 'EdDSA';
}

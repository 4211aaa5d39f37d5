/**
 * OPA's `io.jwt.encode_sign(headers, payload, key)` and
 * `io.jwt.encode_sign_raw(headers, payload, key)`: a compact JWS signed with the first key of a
 * JWK or JWK Set, using the header's `alg`, with `node:crypto`.
 *
 * `encode_sign` serialises its objects as Go's `json.Marshal` does (sorted keys, HTML-safe
 * escapes), so its output is byte-for-byte OPA's for deterministic algorithms (HS*, RS*, EdDSA);
 * `_raw` signs the given text as is. As in OPA, the payload must be JSON unless the header's
 * `typ` is present and not `JWT`. A public key, a key of the wrong type for `alg`, or an `alg`
 * OPA does not know is an error (undefined).
 */
import {
  constants,
  createHmac,
  createPrivateKey,
  sign as cryptoSign,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { goJsonMarshal } from './go-json.js';
import { JWS_ALGORITHMS } from './jwt-keys.js';

const HASHES: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };
const EC_CURVES: Record<string, string> = {
  ES256: 'prime256v1',
  ES384: 'secp384r1',
  ES512: 'secp521r1',
};

function isValidJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The first key of a JWK or JWK Set: raw bytes for `oct`, else a private key. */
function signingKey(jwkText: string): Buffer | KeyObject | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(jwkText);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const record = parsed as Record<string, unknown>;
  const first: unknown = Object.hasOwn(record, 'keys')
    ? Array.isArray(record['keys'])
      ? record['keys'][0]
      : undefined
    : record;
  if (typeof first !== 'object' || first === null) return undefined;
  const jwk = first as Record<string, unknown>;
  try {
    if (jwk['kty'] === 'oct')
      return typeof jwk['k'] === 'string' ? Buffer.from(jwk['k'], 'base64url') : undefined;
    return createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch {
    return undefined;
  }
}

function signWith(alg: string, key: Buffer | KeyObject, data: Buffer): Buffer | undefined {
  const hash = HASHES[alg.slice(2)] ?? 'sha256';
  if (alg.startsWith('HS'))
    return Buffer.isBuffer(key) ? createHmac(hash, key).update(data).digest() : undefined;
  if (Buffer.isBuffer(key)) return undefined;
  try {
    if (alg === 'EdDSA')
      return key.asymmetricKeyType === 'ed25519' ? cryptoSign(null, data, key) : undefined;
    if (alg.startsWith('RS'))
      return key.asymmetricKeyType === 'rsa' ? cryptoSign(hash, data, key) : undefined;
    if (alg.startsWith('PS')) {
      return key.asymmetricKeyType === 'rsa'
        ? cryptoSign(hash, data, {
            key,
            padding: constants.RSA_PKCS1_PSS_PADDING,
            saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
          })
        : undefined;
    }
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== EC_CURVES[alg])
      return undefined;
    return cryptoSign(hash, data, { key, dsaEncoding: 'ieee-p1363' });
  } catch {
    return undefined;
  }
}

function encodeSign(headerText: string, payloadText: string, jwkText: string): string | undefined {
  const key = signingKey(jwkText);
  if (key === undefined) return undefined;
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch {
    return undefined;
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return undefined;
  const { alg, typ } = header as Record<string, unknown>;
  if (typeof alg !== 'string' || !JWS_ALGORITHMS.has(alg)) return undefined;
  if ((typeof typ !== 'string' || typ === 'JWT') && !isValidJson(payloadText)) return undefined;
  const input = `${Buffer.from(headerText, 'utf8').toString('base64url')}.${Buffer.from(payloadText, 'utf8').toString('base64url')}`;
  const signature = signWith(alg, key, Buffer.from(input, 'utf8'));
  return signature === undefined ? undefined : `${input}.${signature.toString('base64url')}`;
}

/** `io.jwt.encode_sign(headers, payload, key)` over objects. */
export function encodeSignObjects(
  headers: unknown,
  payload: unknown,
  key: unknown,
): string | undefined {
  const isObject = (v: unknown): boolean =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(headers) || !isObject(payload) || !isObject(key)) return undefined;
  return encodeSign(goJsonMarshal(headers), goJsonMarshal(payload), goJsonMarshal(key));
}

/** `io.jwt.encode_sign_raw(headers, payload, key)` over JSON text. */
export function encodeSignRaw(
  headers: unknown,
  payload: unknown,
  key: unknown,
): string | undefined {
  if (typeof headers !== 'string' || typeof payload !== 'string' || typeof key !== 'string')
    return undefined;
  return encodeSign(headers, payload, key);
}

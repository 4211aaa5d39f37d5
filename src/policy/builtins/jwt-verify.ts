/**
 * OPA's JWT verification builtins: `io.jwt.verify_<alg>(jwt, key)` and
 * `io.jwt.decode_verify(jwt, constraints)`.
 *
 * Policies call builtins synchronously, so verification uses `node:crypto` directly (`verify`,
 * `createHmac`, key objects from {@link keysFromCertOrJwk}) with the JOSE rules OPA applies
 * (RFC 7515, 7519, 8725): the algorithm comes from the header and must be one OPA knows (`none`
 * never verifies); the key type must fit the algorithm, so an RSA public key can never be used
 * as an HMAC secret; a JWK's own `alg` must equal the header's; a `crit` header naming a
 * parameter OPA does not understand fails verification.
 *
 * Error behaviour follows OPA's: a malformed token, key or constraint is a builtin error
 * (undefined here, as OPA without strict builtin errors); a signature or claim that does not
 * hold gives `false` / `[false, {}, {}]`.
 */
import {
  constants,
  createHmac,
  timingSafeEqual,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import type { EvalContext } from './context.js';
import { JWS_ALGORITHMS, keysFromCertOrJwk, type VerificationKey } from './jwt-keys.js';
import {
  base64urlDecode,
  decodeHeader,
  jsonObjectOf,
  splitJws,
  type CompactJws,
} from './jwt-token.js';

type Family = 'RS' | 'PS' | 'ES' | 'HS' | 'EdDSA';
const HASHES: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

/** Splits `RS256` into family and hash; `undefined` for algorithms OPA does not know. */
function parseAlg(alg: string): { family: Family; hash: string | null } | undefined {
  if (!JWS_ALGORITHMS.has(alg)) return undefined;
  if (alg === 'EdDSA') return { family: 'EdDSA', hash: null };
  return { family: alg.slice(0, 2) as Family, hash: HASHES[alg.slice(2)] ?? null };
}

/** ECDSA signatures as Go reads them (`r` = first half, `s` = second half), re-padded for Node. */
function ieeeP1363(signature: Buffer, key: KeyObject): Buffer | undefined {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const size =
    curve === 'prime256v1'
      ? 32
      : curve === 'secp384r1'
        ? 48
        : curve === 'secp521r1'
          ? 66
          : undefined;
  if (size === undefined) return undefined;
  const half = Math.floor(signature.length / 2);
  const parts = [signature.subarray(0, half), signature.subarray(half)].map((p) => {
    let i = 0;
    while (i < p.length && p[i] === 0) i++;
    return p.subarray(i);
  });
  if (parts.some((p) => p.length > size)) return undefined;
  return Buffer.concat(parts.map((p) => Buffer.concat([Buffer.alloc(size - p.length), p])));
}

/**
 * Verifies `signature` over `data` with `key` for `family`/`hash`; false on any mismatch.
 * `pssSalt` is the PSS salt length accepted: `verify_ps*` (Go's `rsa.VerifyPSS` with default
 * options) detects it, `decode_verify` (jwx) requires the digest length (RFC 7518 §3.5).
 */
function verifySignature(
  family: Family,
  hash: string | null,
  key: KeyObject,
  data: Buffer,
  signature: Buffer,
  pssSalt: number,
): boolean {
  try {
    switch (family) {
      case 'HS': {
        if (key.type !== 'secret' || hash === null) return false;
        const mac = createHmac(hash, key).update(data).digest();
        return mac.length === signature.length && timingSafeEqual(mac, signature);
      }
      case 'RS':
        return key.asymmetricKeyType === 'rsa' && cryptoVerify(hash, data, key, signature);
      case 'PS':
        return (
          key.asymmetricKeyType === 'rsa' &&
          cryptoVerify(
            hash,
            data,
            { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: pssSalt },
            signature,
          )
        );
      case 'ES': {
        if (key.asymmetricKeyType !== 'ec') return false;
        const sig = ieeeP1363(signature, key);
        return (
          sig !== undefined && cryptoVerify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, sig)
        );
      }
      case 'EdDSA':
        return key.asymmetricKeyType === 'ed25519' && cryptoVerify(null, data, key, signature);
    }
  } catch {
    return false;
  }
}

/** The JOSE header fields OPA interprets; `undefined` when one has the wrong type. */
interface TokenHeader {
  readonly alg: string;
  readonly kid: string;
  readonly cty: string;
  /** RFC 7515 §4.1.1 (`alg` present) and §4.1.11 (every `crit` name understood). */
  readonly valid: boolean;
}

const KNOWN_HEADERS = new Set(['alg', 'kid', 'typ', 'cty', 'crit']);

function parseTokenHeader(header: Record<string, unknown>): TokenHeader | undefined {
  for (const name of ['alg', 'kid', 'typ', 'cty']) {
    if (Object.hasOwn(header, name) && typeof header[name] !== 'string') return undefined;
  }
  let crit: Set<string> | undefined;
  if (Object.hasOwn(header, 'crit')) {
    const value = header['crit'];
    if (!Array.isArray(value)) return undefined;
    crit = new Set(value.filter((v): v is string => typeof v === 'string'));
    if (crit.size === 0) return undefined;
  }
  const alg = (header['alg'] as string | undefined) ?? '';
  const unknownCritical = Object.keys(header).some(
    (name) => !KNOWN_HEADERS.has(name) && crit?.has(name) === true,
  );
  return {
    alg,
    kid: (header['kid'] as string | undefined) ?? '',
    cty: (header['cty'] as string | undefined) ?? '',
    valid: alg !== '' && !unknownCritical,
  };
}

/** OPA's key choice: the key whose `kid` matches, else every key whose `alg` is empty or equal. */
function verifyWithKeys(
  keys: readonly VerificationKey[],
  tokenAlg: string,
  kid: string,
  check: (key: VerificationKey) => boolean,
): boolean {
  if (kid !== '') {
    const match = keys.find((k) => k.kid === kid);
    if (match !== undefined) return check(match);
  }
  return keys.some((k) => (k.alg === '' || k.alg === tokenAlg) && check(k));
}

function signingInput(jws: CompactJws): Buffer {
  return Buffer.from(`${jws.header}.${jws.payload}`, 'utf8');
}

/** `io.jwt.verify_<alg>(jwt, certificate)` for the asymmetric algorithms. */
export function verifyAsymmetric(
  alg: string,
): (token: unknown, certificate: unknown) => boolean | undefined {
  const parsed = parseAlg(alg);
  if (parsed === undefined || parsed.family === 'HS')
    throw new Error(`not an asymmetric JWS algorithm: ${alg}`);
  return (token, certificate) => {
    const jws = splitJws(token);
    if (jws === undefined || typeof certificate !== 'string') return undefined;
    const keys = keysFromCertOrJwk(certificate);
    const signature = base64urlDecode(jws.signature);
    const decoded = decodeHeader(jws.header);
    const header = decoded === undefined ? undefined : parseTokenHeader(decoded);
    if (keys === undefined || signature === undefined || header === undefined) return undefined;
    const data = signingInput(jws);
    return verifyWithKeys(
      keys,
      header.alg,
      header.kid,
      (k) =>
        !k.private &&
        verifySignature(
          parsed.family,
          parsed.hash,
          k.key,
          data,
          signature,
          constants.RSA_PSS_SALTLEN_AUTO,
        ),
    );
  };
}

/** `io.jwt.verify_hs<bits>(jwt, secret)`: HMAC over the signing input; the header is not read. */
export function verifyHmac(
  alg: 'HS256' | 'HS384' | 'HS512',
): (token: unknown, secret: unknown) => boolean | undefined {
  const hash = HASHES[alg.slice(2)] as string;
  return (token, secret) => {
    if (typeof token !== 'string' || typeof secret !== 'string') return undefined;
    const jws = splitJws(token);
    const signature = jws === undefined ? undefined : base64urlDecode(jws.signature);
    if (jws === undefined || signature === undefined) return undefined;
    const mac = createHmac(hash, Buffer.from(secret, 'utf8')).update(signingInput(jws)).digest();
    return mac.length === signature.length && timingSafeEqual(mac, signature);
  };
}

/** The parsed `constraints` of `io.jwt.decode_verify`. */
interface Constraints {
  readonly keys: readonly VerificationKey[] | undefined;
  readonly secret: string;
  readonly alg: string;
  readonly iss: string;
  readonly aud: string;
  /** Nanoseconds since the epoch. */
  readonly time: number;
}

function parseConstraints(value: unknown, now: () => bigint): Constraints | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const c: {
    keys?: VerificationKey[];
    secret: string;
    alg: string;
    iss: string;
    aud: string;
    time?: number;
  } = { secret: '', alg: '', iss: '', aud: '' };
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    switch (name) {
      case 'cert': {
        if (typeof v !== 'string') return undefined;
        const keys = keysFromCertOrJwk(v);
        if (keys === undefined) return undefined;
        c.keys = keys;
        break;
      }
      case 'secret':
      case 'alg':
      case 'iss':
      case 'aud':
        if (typeof v !== 'string') return undefined;
        c[name] = v;
        break;
      case 'time':
        if (typeof v !== 'number' || v < 0) return undefined;
        c.time = v;
        break;
      default:
        return undefined; // OPA: "unknown token validation constraint"
    }
  }
  // Exactly one of `cert` and a non-empty `secret`.
  if ((c.keys !== undefined ? 1 : 0) + (c.secret !== '' ? 1 : 0) !== 1) return undefined;
  return {
    keys: c.keys,
    secret: c.secret,
    alg: c.alg,
    iss: c.iss,
    aud: c.aud,
    time: c.time ?? Number(now()),
  };
}

function constraintVerify(
  c: Constraints,
  header: TokenHeader,
  data: Buffer,
  signature: Buffer,
): boolean {
  const parsed = parseAlg(header.alg);
  if (parsed === undefined) return false; // `none` and unknown algorithms never verify
  if (c.keys !== undefined)
    return verifyWithKeys(c.keys, header.alg, header.kid, (k) =>
      verifySignature(
        parsed.family,
        parsed.hash,
        k.key,
        data,
        signature,
        constants.RSA_PSS_SALTLEN_DIGEST,
      ),
    );
  if (parsed.family !== 'HS' || parsed.hash === null) return false; // a secret only ever verifies an HMAC
  const mac = createHmac(parsed.hash, Buffer.from(c.secret, 'utf8')).update(data).digest();
  return mac.length === signature.length && timingSafeEqual(mac, signature);
}

type DecodeVerifyResult = [boolean, Record<string, unknown>, Record<string, unknown>];

const MAX_NESTING = 8;

/** `io.jwt.decode_verify(jwt, constraints)`: `[valid, header, payload]`. */
export function decodeVerify(
  ctx: EvalContext,
): (token: unknown, constraints: unknown) => DecodeVerifyResult | undefined {
  return (token, constraintsArg) => {
    const c = parseConstraints(constraintsArg, () => ctx.nowNs());
    if (c === undefined) return undefined;
    const unverified: DecodeVerifyResult = [false, {}, {}];
    let current: unknown = token;
    let header: Record<string, unknown> | undefined;
    let payloadBytes: Buffer | undefined;
    for (let depth = 0; ; depth++) {
      if (depth === MAX_NESTING) return undefined;
      const jws = splitJws(current);
      if (jws === undefined) return undefined;
      header = decodeHeader(jws.header);
      const parsed = header === undefined ? undefined : parseTokenHeader(header);
      if (parsed === undefined) return undefined;
      if (!parsed.valid) return unverified;
      if (c.alg !== '' && c.alg !== parsed.alg) return unverified;
      const signature = base64urlDecode(jws.signature);
      if (signature === undefined) return undefined;
      if (!constraintVerify(c, parsed, signingInput(jws), signature)) return unverified;
      payloadBytes = base64urlDecode(jws.payload);
      if (payloadBytes === undefined) return undefined;
      if (parsed.cty.toUpperCase() !== 'JWT') break;
      current = payloadBytes.toString('utf8'); // a nested token: verify it in turn
    }
    const payload = jsonObjectOf(payloadBytes);
    if (payload === undefined || header === undefined) return undefined;
    const failed = checkClaims(c, payload);
    if (failed === 'error') return undefined;
    return failed ?? [true, header, payload];
  };
}

/**
 * The registered-claim checks of `decode_verify`: `undefined` when they pass, `'error'` for a
 * non-numeric `exp`/`nbf` (a builtin error in OPA).
 */
function checkClaims(
  c: Constraints,
  payload: Record<string, unknown>,
): DecodeVerifyResult | 'error' | undefined {
  const unverified: DecodeVerifyResult = [false, {}, {}];
  if (c.iss !== '' && payload['iss'] !== c.iss) return unverified;
  if (Object.hasOwn(payload, 'aud')) {
    const aud = payload['aud'];
    const ok =
      typeof aud === 'string' ? aud === c.aud : Array.isArray(aud) && aud.some((a) => a === c.aud);
    if (!ok) return unverified;
  } else if (c.aud !== '') {
    return unverified;
  }
  const seconds = c.time / 1e9;
  if (Object.hasOwn(payload, 'exp')) {
    const exp = payload['exp'];
    if (typeof exp !== 'number') return 'error';
    if (seconds >= exp) return unverified;
  }
  if (Object.hasOwn(payload, 'nbf')) {
    const nbf = payload['nbf'];
    if (typeof nbf !== 'number') return 'error';
    if (seconds < nbf) return unverified;
  }
  return undefined;
}

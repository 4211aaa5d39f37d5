/**
 * Loading Gatehouse's signing keys from PEM or JWK files.
 */
import { readFile } from 'node:fs/promises';
import { generateKeyPair, type JWK } from 'jose';
import { KeyObject } from 'node:crypto';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { importPrivateKey, parsePrivateKey, type ImportedKey } from './import-key.js';
import type { KeyRing, VerificationKey } from './key-ring.js';

/** Options for {@link loadSigningKeys}. */
export interface LoadSigningKeysOptions {
  /** Key files in order: the first signs, all verify and are published. */
  readonly files: readonly string[];
  /** Allow generating a throw-away key when `files` is empty. */
  readonly development: boolean;
  /** Told about each key loaded (kid and algorithm, never key material). */
  readonly log?: (message: string) => void;
}

/**
 * Load the signing keys.
 *
 * Each file holds a PEM private key (PKCS#8 `PRIVATE KEY`, SEC1 `EC PRIVATE KEY` or PKCS#1
 * `RSA PRIVATE KEY`, unencrypted), a private JWK, or a JWK Set of private keys. The algorithm
 * follows the key type: EC P-256 → ES256, P-384 → ES384, RSA ≥ 2048 bits → RS256,
 * Ed25519 → EdDSA. The `kid` is the JWK's own `kid`, else its RFC 7638 thumbprint.
 *
 * With no files, development mode generates an ES256 key (`generated: true`; the caller must
 * log it loudly: sessions signed with it die with the process); otherwise this throws.
 *
 * @throws GatehouseError `ERR_KEYS_INVALID` with a message naming the file and the problem.
 * @example
 *   const ring = await loadSigningKeys({ files: ['/etc/gatehouse/signing.pem'], development: false });
 */
export async function loadSigningKeys(options: LoadSigningKeysOptions): Promise<KeyRing> {
  if (options.files.length === 0) {
    if (!options.development) {
      throw keysError(
        'no signing keys are configured (set the key files, or run `gatehouse keygen`; a generated key is allowed only in development mode)',
      );
    }
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const keyObject = KeyObject.from(privateKey);
    const imported = await importPrivateKey(keyObject);
    options.log?.(`generated a development ES256 signing key ${imported.signing.kid}`);
    return ring([imported], true);
  }
  const imported: ImportedKey[] = [];
  for (const file of options.files) {
    for (const key of await loadFile(file)) {
      if (imported.some((k) => k.signing.kid === key.signing.kid))
        throw keysError(`${file}: duplicate kid ${JSON.stringify(key.signing.kid)}`);
      imported.push(key);
      options.log?.(`loaded ${key.signing.alg} key ${key.signing.kid} from ${file}`);
    }
  }
  return ring(imported, false);
}

async function loadFile(file: string): Promise<ImportedKey[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw keysError(
      `${file}: cannot be read (${(cause as NodeJS.ErrnoException).code ?? 'error'})`,
      cause,
    );
  }
  try {
    if (text.trimStart().startsWith('{')) {
      const json: unknown = JSON.parse(text);
      const jwks =
        isObject(json) && Array.isArray(json['keys']) ? (json['keys'] as unknown[]) : [json];
      if (jwks.length === 0) throw new Error('the JWK Set is empty');
      const keys: ImportedKey[] = [];
      for (const jwk of jwks) {
        if (!isObject(jwk)) throw new Error('not a JWK object');
        keys.push(
          await importPrivateKey(parsePrivateKey({ jwk: jwk as JWK }), {
            kid: jwk['kid'],
            alg: jwk['alg'],
          }),
        );
      }
      return keys;
    }
    if (!text.includes('-----BEGIN')) throw new Error('neither a PEM private key nor a JWK');
    return [await importPrivateKey(parsePrivateKey({ pem: text }))];
  } catch (cause) {
    if (cause instanceof GatehouseError) throw cause;
    throw keysError(`${file}: ${cause instanceof Error ? cause.message : 'invalid key'}`, cause);
  }
}

function ring(keys: readonly ImportedKey[], generated: boolean): KeyRing {
  const first = keys[0];
  if (first === undefined) throw keysError('no signing keys');
  const verification = new Map<string, VerificationKey>();
  for (const key of keys) verification.set(key.signing.kid, key.verification);
  return Object.freeze({
    signing: first.signing,
    verification,
    jwks: Object.freeze({ keys: Object.freeze(keys.map((k) => k.jwk)) }),
    generated,
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The configuration error for keys and secrets, naming the problem. */
export function keysError(
  message: string,
  cause?: unknown,
  subject = 'signing keys',
): GatehouseError {
  const text = `${subject}: ${message}`;
  return new GatehouseError(
    'ERR_KEYS_INVALID',
    cause === undefined ? { message: text } : { message: text, cause },
  );
}

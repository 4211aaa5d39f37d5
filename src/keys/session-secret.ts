/**
 * The symmetric key that encrypts sessions carrying secrets (JWE `dir` + `A256GCM`).
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { keysError } from './load.js';

/** Options for {@link loadSessionSecret}: exactly one of `file` or `value`, or neither in development. */
export interface LoadSessionSecretOptions {
  /** A file holding the secret (base64 or base64url, at least 32 bytes decoded). */
  readonly file?: string;
  /** The secret itself (e.g. from an environment variable), same encoding. */
  readonly value?: string;
  /** Allow generating a random secret when neither is given. */
  readonly development: boolean;
}

/** The derived session encryption key. */
export interface SessionSecret {
  /** 32 bytes for JWE `dir` with `A256GCM`. */
  readonly key: Uint8Array;
  /** True when generated at start (development only): sessions will not survive a restart. */
  readonly generated: boolean;
}

/** Minimum decoded length of the configured secret. */
export const MIN_SECRET_BYTES = 32;

/**
 * The HKDF `info` of each key derived from the session secret: it binds a key to its one use.
 * The session key comes from the configured secret; the others from the session key.
 */
export type KeyUse =
  | 'gatehouse session encryption'
  | 'gatehouse sign-in transaction'
  | 'gatehouse sign-in hand-off'
  | 'gatehouse session store records'
  | 'gatehouse session store user index';

/**
 * Load and derive the session encryption key: HKDF-SHA256 over the decoded secret with
 * info `gatehouse session encryption`, 32 bytes out. The configured secret is decoded as
 * base64/base64url (what `gatehouse keygen` and `openssl rand -base64 32` write) and must be at
 * least 32 bytes; a passphrase is refused rather than stretched.
 *
 * @throws GatehouseError `ERR_KEYS_INVALID` naming the problem.
 * @example
 *   const { key } = await loadSessionSecret({ file: '/etc/gatehouse/session-secret', development: false });
 */
export async function loadSessionSecret(options: LoadSessionSecretOptions): Promise<SessionSecret> {
  if (options.file !== undefined && options.value !== undefined)
    throw secretError('give the secret as a file or a value, not both');
  let text: string;
  if (options.file !== undefined) {
    try {
      text = await readFile(options.file, 'utf8');
    } catch (cause) {
      throw secretError(
        `${options.file}: cannot be read (${(cause as NodeJS.ErrnoException).code ?? 'error'})`,
        cause,
      );
    }
  } else if (options.value !== undefined) {
    text = options.value;
  } else {
    if (!options.development)
      throw secretError(
        'no session secret is configured (run `gatehouse keygen`; a generated secret is allowed only in development mode)',
      );
    return Object.freeze({ key: derive(randomBytes(MIN_SECRET_BYTES)), generated: true });
  }
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed))
    throw secretError('must be base64 or base64url (e.g. `openssl rand -base64 32`)');
  const bytes = Buffer.from(trimmed, 'base64');
  if (bytes.length < MIN_SECRET_BYTES)
    throw secretError(`must decode to at least ${MIN_SECRET_BYTES} bytes, got ${bytes.length}`);
  return Object.freeze({ key: derive(bytes), generated: false });
}

/** HKDF-SHA256(`from`, salt = empty, info = `use`) → 32 bytes: the one key derivation. */
export function deriveKey(from: Uint8Array, use: KeyUse): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', from, new Uint8Array(0), use, 32));
}

function derive(secret: Uint8Array): Uint8Array {
  return deriveKey(secret, 'gatehouse session encryption');
}

function secretError(message: string, cause?: unknown) {
  return keysError(message, cause, 'session secret');
}

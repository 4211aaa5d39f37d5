/**
 * Writing a fresh signing key and session secret, for `gatehouse keygen`.
 */
import { randomBytes, KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { base64url, exportPKCS8, generateKeyPair } from 'jose';
import { importPrivateKey } from './import-key.js';

/** What {@link generateKeyFiles} wrote. */
export interface GeneratedKeyFiles {
  /** PKCS#8 PEM P-256 private key (mode 0600). */
  readonly signingKeyFile: string;
  /** 32 random bytes, base64url (mode 0600). */
  readonly sessionSecretFile: string;
  /** The RFC 7638 thumbprint the key is published under. */
  readonly kid: string;
}

/** File names written by {@link generateKeyFiles}. */
export const SIGNING_KEY_FILE = 'signing-key.pem';
export const SESSION_SECRET_FILE = 'session-secret';

/**
 * Generate an ES256 signing key and a session secret into `dir` (which must exist). Existing
 * files are never overwritten: rotating means adding a new key file in front of the old one.
 *
 * @throws Error (`EEXIST`) when either file already exists.
 * @example
 *   const { signingKeyFile, kid } = await generateKeyFiles('/etc/gatehouse');
 */
export async function generateKeyFiles(dir: string): Promise<GeneratedKeyFiles> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const pem = await exportPKCS8(privateKey);
  const { signing } = await importPrivateKey(KeyObject.from(privateKey));
  const signingKeyFile = join(dir, SIGNING_KEY_FILE);
  const sessionSecretFile = join(dir, SESSION_SECRET_FILE);
  await writeFile(signingKeyFile, pem, { mode: 0o600, flag: 'wx' });
  await writeFile(sessionSecretFile, `${base64url.encode(randomBytes(32))}\n`, {
    mode: 0o600,
    flag: 'wx',
  });
  return { signingKeyFile, sessionSecretFile, kid: signing.kid };
}

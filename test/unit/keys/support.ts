/**
 * Shared helpers for the JOSE tests: test keys, a frozen clock, and a token forger that can
 * build what jose would refuse to sign (alg none, unknown crit, forbidden headers).
 */
import assert from 'node:assert/strict';
import { createHmac, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { base64url } from 'jose';
import { GatehouseError } from '../../../src/errors/gatehouse-error.js';
import type { KeyRing } from '../../../src/keys/key-ring.js';
import { loadSigningKeys } from '../../../src/keys/load.js';
import { testdata } from '../../support/paths.js';

/** A path in `test/testdata/jose/`. */
export function keyFile(name: string): string {
  return testdata('jose', name);
}

/** A private key from `test/testdata/jose/` as a Node key (for forging). */
export function keyObject(name: string): KeyObject {
  return createPrivateKey(readFileSync(keyFile(name), 'utf8'));
}

/** A ring loaded from test key files (first signs). */
export function ringOf(...names: string[]): Promise<KeyRing> {
  return loadSigningKeys({ files: names.map(keyFile), development: false });
}

/** 2025-01-01T00:00:00Z: every test freezes the clock here (or relative to it). */
export const NOW = new Date('2025-01-01T00:00:00Z');
export const NOW_S = Math.floor(NOW.getTime() / 1000);

/** A date `seconds` from {@link NOW}. */
export function at(seconds: number): Date {
  return new Date((NOW_S + seconds) * 1000);
}

/** A 32-byte session key for tests. */
export const SESSION_KEY = new Uint8Array(32).fill(7);

function b64json(value: unknown): string {
  return base64url.encode(JSON.stringify(value));
}

/**
 * A compact JWS with any header, signed with `key` by the algorithm the header names
 * (ES256/ES384/RS256/EdDSA/HS256), or unsigned for `alg: none`. `hmacSecret` signs HS256.
 */
export function forge(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key?: KeyObject | Uint8Array,
): string {
  const input = `${b64json(header)}.${b64json(payload)}`;
  const alg = header['alg'];
  if (alg === 'none' || key === undefined) return `${input}.`;
  let signature: Uint8Array;
  if (key instanceof Uint8Array) {
    signature = createHmac(alg === 'HS384' ? 'sha384' : alg === 'HS512' ? 'sha512' : 'sha256', key)
      .update(input)
      .digest();
  } else if (alg === 'EdDSA') {
    signature = sign(null, Buffer.from(input), key);
  } else {
    const hash = alg === 'ES384' ? 'sha384' : 'sha256';
    signature = sign(
      hash,
      Buffer.from(input),
      key.asymmetricKeyType === 'ec' ? { key, dsaEncoding: 'ieee-p1363' } : key,
    );
  }
  return `${input}.${base64url.encode(signature)}`;
}

/** Replace a JWS's signature with `bytes` zero bytes. */
export function zeroSignature(jws: string, bytes = 64): string {
  const [h, p] = jws.split('.');
  return `${h}.${p}.${base64url.encode(new Uint8Array(bytes))}`;
}

/** Assert that `promise` rejects with a GatehouseError of `code`. */
export async function rejectsWithCode(
  promise: Promise<unknown>,
  code: string,
): Promise<GatehouseError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(
    caught instanceof GatehouseError,
    `expected a GatehouseError ${code}, got ${caught === undefined ? 'success' : String(caught)}`,
  );
  assert.equal(
    caught.code,
    code,
    `expected ${code}, got ${caught.code} (${String((caught.cause as Error | undefined)?.message)})`,
  );
  return caught;
}

/** Decode a compact token's header. */
export function headerOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

/** Decode a compact JWS's payload. */
export function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

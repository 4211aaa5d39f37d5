/**
 * The in-memory shape of Gatehouse's own signing keys: one key signs, every key verifies and
 * is published, so a key can be rotated out without invalidating live sessions at once.
 */
import type { KeyObject } from 'node:crypto';
import type { CryptoKey, JWK } from 'jose';

/** JWS algorithms Gatehouse signs with, chosen from the key type (never from configuration). */
export type SigningAlgorithm = 'ES256' | 'ES384' | 'RS256' | 'EdDSA';

/** The key that signs sessions and assertion JWTs. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly privateKey: CryptoKey;
  /** The same private key as node:crypto's KeyObject: assertions are signed with it (one-shot `sign`). */
  readonly keyObject: KeyObject;
}

/** A key that verifies what Gatehouse signed. */
export interface VerificationKey {
  readonly alg: SigningAlgorithm;
  readonly publicKey: CryptoKey;
}

/** A public JWK as published at `/.well-known/gatehouse/jwks.json`. */
export type PublishedJwk = JWK & {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly use: 'sig';
};

/** Gatehouse's signing keys, loaded once at start. */
export interface KeyRing {
  /** The first configured key: it signs. */
  readonly signing: SigningKey;
  /** Every configured key by `kid` (the signing key included). */
  readonly verification: ReadonlyMap<string, VerificationKey>;
  /** The public halves of every key, ready to serve as a JWK Set. Never holds private members. */
  readonly jwks: { readonly keys: readonly PublishedJwk[] };
  /** True when the key was generated at start (development mode only). */
  readonly generated: boolean;
}

/**
 * A bounded cache of successfully verified credentials (bearer tokens, session cookies), so a
 * caller sending the same token on every request pays for one signature verification, not one
 * per request.
 *
 * - Keyed by a SHA-256 of the exact token string ({@link credentialKey}): memory per entry is
 *   bounded whatever the token's size, and a token differing in any byte is a different key.
 * - Only successes are stored (the caller stores after verifying); failures are never cached.
 * - An entry never outlives its token: every hit re-checks `exp` against the clock with the same
 *   tolerance the verifier uses (valid while `now - tolerance < exp`, in whole seconds, exactly
 *   jose's rule), and an expired entry is dropped, so the next lookup verifies afresh (and an
 *   authentic-but-expired session then takes the refresh path as before).
 * - Least recently used entries are evicted beyond `capacity`.
 */
import { hash } from 'node:crypto';
import { trimOldest } from '../cache/trim.js';

/** Default number of entries. */
export const DEFAULT_VERIFIED_CACHE_CAPACITY = 10_000;

/** Options for {@link VerifiedCache}. */
export interface VerifiedCacheOptions {
  /** Most entries kept (default 10,000); 0 disables the cache. */
  readonly capacity?: number;
  /** The verifier's leeway for `exp`, in seconds (default 30). */
  readonly clockToleranceSeconds?: number;
  /** The clock in milliseconds (tests). */
  readonly now?: () => number;
}

interface Entry<T> {
  readonly value: T;
  /** The token's `exp`, in seconds since the epoch. */
  readonly exp: number;
}

/**
 * The cache key of a token: base64url SHA-256 of its exact string (43 characters).
 *
 * @example credentialKey('eyJhbGciOi…') // 'n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg'
 */
export function credentialKey(token: string): string {
  return hash('sha256', token, 'base64url');
}

/**
 * LRU of verified values keyed by {@link credentialKey}.
 *
 * @example
 *   const cache = new VerifiedCache<VerifiedClaims>({ clockToleranceSeconds: 30 });
 *   const key = credentialKey(token);
 *   const claims = cache.get(key) ?? (await verify(token));
 *   cache.set(key, claims, claims.exp);
 */
export class VerifiedCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #capacity: number;
  readonly #tolerance: number;
  readonly #now: () => number;

  constructor(options: VerifiedCacheOptions = {}) {
    this.#capacity = Math.max(0, Math.floor(options.capacity ?? DEFAULT_VERIFIED_CACHE_CAPACITY));
    this.#tolerance = options.clockToleranceSeconds ?? 30;
    this.#now = options.now ?? Date.now;
  }

  /** Entries held now. */
  get size(): number {
    return this.#entries.size;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** The value verified for `key`, while its token would still verify; else undefined. */
  get(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (!this.#live(entry.exp)) return undefined;
    this.#entries.set(key, entry); // most recently used last
    return entry.value;
  }

  /**
   * Remember a successful verification of the token behind `key`, valid until `exp` (seconds).
   * A value that would already be expired is not stored.
   */
  set(key: string, value: T, exp: number): void {
    if (this.#capacity === 0 || !Number.isFinite(exp) || !this.#live(exp)) return;
    this.#entries.delete(key);
    this.#entries.set(key, { value, exp });
    trimOldest(this.#entries, this.#capacity);
  }

  /** Forget one entry (e.g. a revoked session). */
  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  /** jose's rule: expired when `exp <= now - tolerance`, `now` in whole seconds. */
  #live(exp: number): boolean {
    return exp > Math.floor(this.#now() / 1000) - this.#tolerance;
  }
}

/**
 * Reusing signed identity assertions.
 *
 * Signing an assertion (ES256/RS256/EdDSA) is the most expensive step of an allowed Check. For
 * the same credential (the exact session cookie or bearer token, by its hash) and the same
 * audience host the assertion's claims are identical but for `iat`, `exp` and `jti`, so one
 * signed assertion is reused while it has more than half its lifetime left: each assertion is
 * issued with a fresh `jti`, and then sent for at most `ttl / 2` seconds. An upstream must
 * therefore not treat `jti` as unique per request (it is unique per issuance).
 *
 * The cache is a bounded LRU; concurrent Checks for the same key share one signing.
 */

/** Default number of cached assertions. */
export const DEFAULT_ASSERTION_CACHE_CAPACITY = 10_000;

/** Options for {@link AssertionCache}. */
export interface AssertionCacheOptions {
  /** The assertion lifetime, in seconds (what the signer is given). */
  readonly ttlSeconds: number;
  /** Most entries (default 10,000); 0 disables reuse. */
  readonly capacity?: number;
  /** The clock in milliseconds (tests). */
  readonly now?: () => number;
}

interface Entry {
  readonly jwt: Promise<string | undefined>;
  /** Reuse while `now` (ms) is before this: `iat + ttl / 2`. */
  readonly reuseUntilMs: number;
}

/**
 * @example
 *   const cache = new AssertionCache({ ttlSeconds: 300 });
 *   const jwt = await cache.get(`${credential}`, host, (now) => signAssertion(ring, { …, now }));
 */
export class AssertionCache {
  readonly #entries = new Map<string, Entry>();
  readonly #capacity: number;
  readonly #halfLifeMs: number;
  readonly #now: () => number;

  constructor(options: AssertionCacheOptions) {
    this.#capacity = Math.max(0, Math.floor(options.capacity ?? DEFAULT_ASSERTION_CACHE_CAPACITY));
    this.#halfLifeMs = (Math.floor(options.ttlSeconds) * 1000) / 2;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The assertion for (`credential`, `audience`): a cached one with more than half its lifetime
   * left, else a new one from `sign(now)` (which must set `iat` to `now`, in whole seconds).
   * A failed signing is not cached.
   */
  get(
    credential: string,
    audience: string,
    sign: (now: Date) => Promise<string | undefined>,
  ): Promise<string | undefined> {
    const nowMs = this.#now();
    if (this.#capacity === 0) return sign(new Date(nowMs));
    const key = `${credential}\u0000${audience}`;
    const cached = this.#entries.get(key);
    if (cached !== undefined) {
      this.#entries.delete(key);
      if (nowMs < cached.reuseUntilMs) {
        this.#entries.set(key, cached);
        return cached.jwt;
      }
    }
    // `iat` is `now` in whole seconds; reuse ends half a lifetime after it.
    const reuseUntilMs = Math.floor(nowMs / 1000) * 1000 + this.#halfLifeMs;
    const jwt = sign(new Date(nowMs));
    const entry: Entry = { jwt, reuseUntilMs };
    this.#entries.set(key, entry);
    jwt.then(
      (value) => {
        if (value === undefined && this.#entries.get(key) === entry) this.#entries.delete(key);
      },
      () => {
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
      },
    );
    while (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
    return jwt;
  }

  clear(): void {
    this.#entries.clear();
  }
}

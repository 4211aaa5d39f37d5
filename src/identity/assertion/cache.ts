/**
 * Reusing signed identity assertions.
 *
 * Signing an assertion (ES256/RS256/EdDSA) is the most expensive step of an allowed Check. For
 * the same asserted identity (every identity field the assertion carries, see
 * {@link assertionKey}) and the same audience host the assertion's claims are identical but for
 * `iat`, `exp` and `jti`, so one signed assertion is reused while it has more than half its
 * lifetime left: each assertion is issued with a fresh `jti`, and then sent for at most
 * `ttl / 2` seconds. An upstream must therefore not treat `jti` as unique per request (it is
 * unique per issuance). A user's new access token asserts the same identity and so reuses the
 * assertion; a change in any asserted field (groups, email, name, session…) gets a new one.
 *
 * The cache is a bounded LRU; concurrent Checks for the same key share one signing.
 */
import { trimOldest } from '../../cache/trim.js';
import type { AuthenticatedIdentity } from '../../input/types.js';

/** Default number of cached assertions. */
export const DEFAULT_ASSERTION_CACHE_CAPACITY = 10_000;

/**
 * The cache key of an identity: every identity field `signAssertion` writes into the claims
 * (`sub`, `email`, `email_verified`, `name`, `groups`, `sid`, `auth`), so two identities with
 * the same key get byte-identical claims but for `iat`, `exp` and `jti`. The audience host is
 * added by {@link AssertionCache.get}; the issuer is one per process.
 */
export function assertionKey(identity: AuthenticatedIdentity): string {
  return JSON.stringify([
    identity.sub,
    identity.email,
    identity.email_verified,
    identity.name,
    identity.groups,
    identity.session_id,
    identity.method,
  ]);
}

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
  /**
   * The signing in flight, then the JWT it gave: a settled promise (and its reactions) is not
   * kept, one object less per entry for every full GC to mark.
   */
  jwt: Promise<string | undefined> | string;
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
   * The assertion for (`key`, `audience`) — `key` is {@link assertionKey} of the identity: a cached one with more than half its lifetime
   * left, else a new one from `sign(now)` (which must set `iat` to `now`, in whole seconds).
   * A failed signing is not cached.
   */
  get(
    key: string,
    audience: string,
    sign: (now: Date) => Promise<string | undefined>,
  ): Promise<string | undefined> {
    const nowMs = this.#now();
    if (this.#capacity === 0) return sign(new Date(nowMs));
    const entryKey = `${key}\u0000${audience}`;
    const cached = this.#entries.get(entryKey);
    if (cached !== undefined) {
      this.#entries.delete(entryKey);
      if (nowMs < cached.reuseUntilMs) {
        this.#entries.set(entryKey, cached);
        return typeof cached.jwt === 'string' ? Promise.resolve(cached.jwt) : cached.jwt;
      }
    }
    // `iat` is `now` in whole seconds; reuse ends half a lifetime after it.
    const reuseUntilMs = Math.floor(nowMs / 1000) * 1000 + this.#halfLifeMs;
    const jwt = sign(new Date(nowMs));
    const entry: Entry = { jwt, reuseUntilMs };
    this.#entries.set(entryKey, entry);
    jwt.then(
      (value) => {
        if (this.#entries.get(entryKey) !== entry) return;
        if (value === undefined) this.#entries.delete(entryKey);
        else entry.jwt = value;
      },
      () => {
        if (this.#entries.get(entryKey) === entry) this.#entries.delete(entryKey);
      },
    );
    trimOldest(this.#entries, this.#capacity);
    return jwt;
  }

  clear(): void {
    this.#entries.clear();
  }
}

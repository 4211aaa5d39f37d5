/**
 * Verified session handles, so a browser sending the same cookie on every request pays for one
 * signature verification, not one per Check (the handle's WebCrypto verification was the largest
 * cost of a session Check; docs/performance.md "What was optimised").
 *
 * Only the handle's verification is cached, never the session: the Check path still looks the
 * record up in the session store's cache on every request (src/identity/session/book.ts), so a
 * revoked, rotated (device proof) or idle session is refused exactly as before.
 *
 * - Keyed by the SHA-256 of the exact cookie value: a handle differing in any byte is another
 *   key and is verified afresh; memory per entry is bounded.
 * - Only successes are stored; a refused handle is never cached, and is verified every time.
 * - A hit is served only while a fresh verification would accept the handle: `exp` with the same
 *   clock tolerance and rule as jose (`exp > now - tolerance`, `now` in whole seconds), `iat` not
 *   in the future, and the key that verified it still in the ring under its `kid` (the same key
 *   object): a key removed from the ring stops every handle it signed at once. Otherwise the
 *   entry is dropped and the handle verified afresh, which refuses it with the usual code.
 * - A handle with `nbf` (Gatehouse never sets one) is never cached.
 * - Least recently used entries are evicted beyond `capacity`; 0 turns the cache off.
 */
import { hash } from 'node:crypto';
import { trimOldest } from '../../cache/trim.js';
import type { KeyRing, VerificationKey } from '../../keys/key-ring.js';
import { MAX_SESSION_COOKIE_BYTES } from './format.js';
import { type SessionHandle, verifySessionHandle, verifySessionHandleKey } from './handle.js';

/** Default {@link VerifiedHandlesOptions.capacity}. */
export const DEFAULT_HANDLE_CACHE_ENTRIES = 10_000;

/** Options for {@link VerifiedHandles}. */
export interface VerifiedHandlesOptions {
  /** Most handles kept (default 10,000); 0 verifies every handle. */
  readonly capacity?: number;
  /** The verifier's clock tolerance, seconds. */
  readonly clockToleranceSeconds: number;
  /** The issuer handles must carry (default Gatehouse's). */
  readonly issuer?: string;
}

interface Entry {
  readonly handle: SessionHandle;
  readonly kid: string;
  /** The ring's key that verified the handle. */
  readonly key: VerificationKey;
}

/**
 * A bounded LRU of verified handles in front of {@link verifySessionHandle}.
 *
 * @example
 *   const handles = new VerifiedHandles(ring, { clockToleranceSeconds: 30 });
 *   const { sid } = await handles.verify(cookieValue, new Date());
 */
export class VerifiedHandles {
  readonly #ring: KeyRing;
  readonly #capacity: number;
  readonly #tolerance: number;
  readonly #issuer: string | undefined;
  readonly #entries = new Map<string, Entry>();

  constructor(ring: KeyRing, options: VerifiedHandlesOptions) {
    this.#ring = ring;
    this.#capacity = Math.max(0, Math.floor(options.capacity ?? DEFAULT_HANDLE_CACHE_ENTRIES));
    this.#tolerance = options.clockToleranceSeconds;
    this.#issuer = options.issuer;
  }

  /** Entries held now. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * The handle `token` carries, verified at `now`: from the cache while a fresh verification
   * would accept it, else verified (and remembered when accepted).
   *
   * @throws as {@link verifySessionHandle}.
   */
  async verify(token: string, now: Date): Promise<SessionHandle> {
    const options = {
      now,
      clockToleranceSeconds: this.#tolerance,
      ...(this.#issuer === undefined ? {} : { issuer: this.#issuer }),
    };
    if (
      this.#capacity === 0 ||
      typeof token !== 'string' ||
      token.length > MAX_SESSION_COOKIE_BYTES
    )
      return verifySessionHandle(this.#ring, token, options);
    const id = hash('sha256', token, 'base64url');
    const hit = this.#entries.get(id);
    if (hit !== undefined) {
      this.#entries.delete(id);
      if (this.#accepts(hit, now)) {
        this.#entries.set(id, hit);
        return hit.handle;
      }
    }
    const verified = await verifySessionHandleKey(this.#ring, token, options);
    if (!verified.nbf) this.#remember(id, verified);
    return verified.handle;
  }

  /** Forget everything (e.g. in tests). */
  clear(): void {
    this.#entries.clear();
  }

  /** A fresh verification at `now` would accept the handle this entry holds. */
  #accepts(entry: Entry, now: Date): boolean {
    const seconds = Math.floor(now.getTime() / 1000);
    return (
      this.#ring.verification.get(entry.kid) === entry.key &&
      entry.handle.exp > seconds - this.#tolerance &&
      entry.handle.iat <= seconds + this.#tolerance
    );
  }

  #remember(id: string, verified: Entry): void {
    this.#entries.set(
      id,
      Object.freeze({
        handle: Object.freeze({ ...verified.handle }),
        kid: verified.kid,
        key: verified.key,
      }),
    );
    trimOldest(this.#entries, this.#capacity);
  }
}

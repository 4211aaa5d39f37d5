import type { ChallengeStore } from './types.js';

/**
 * A {@link ChallengeStore} in process memory: one replica only (a challenge issued here must be
 * answered here). Expired entries are dropped when touched and on each `put`, so the map stays
 * bounded by what is live.
 *
 * @example const challenges = new MemoryChallengeStore(() => Date.now());
 */
export class MemoryChallengeStore implements ChallengeStore {
  readonly #entries = new Map<string, { value: string; expiresAt: number }>();
  readonly #now: () => number;

  /** @param now milliseconds since the epoch (a test freezes it). */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async put(key: string, value: string, ttlSeconds: number): Promise<void> {
    const now = this.#now();
    for (const [k, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(k);
    this.#entries.set(key, { value, expiresAt: now + ttlSeconds * 1000 });
  }

  async claimOnce(key: string): Promise<string | undefined> {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    return entry.expiresAt > this.#now() ? entry.value : undefined;
  }
}

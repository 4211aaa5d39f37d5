/**
 * Per-evaluation state shared by Gatehouse's builtins.
 *
 * OPA fixes "now" once per query: every `time.now_ns()` in one evaluation returns the same
 * value. A policy's evaluation is synchronous, so one context per loaded policy is enough:
 * the evaluator calls {@link EvalContext.begin} before each evaluation and the clock is read
 * lazily, at most once, when the policy first asks for it.
 */

/** A wall clock in nanoseconds since the Unix epoch. */
export type NanoClock = () => bigint;

/** The system wall clock (millisecond resolution, as `Date.now()`). */
export const systemClock: NanoClock = () => BigInt(Date.now()) * 1_000_000n;

/** Holds the per-evaluation "now". */
export class EvalContext {
  readonly #clock: NanoClock;
  #now: bigint | undefined;
  readonly #memo = new Map<string, unknown>();

  /** @param clock the wall clock; tests pass a frozen one. */
  constructor(clock: NanoClock = systemClock) {
    this.#clock = clock;
  }

  /** Starts a new evaluation: the next {@link nowNs} reads the clock afresh. */
  begin(): void {
    this.#now = undefined;
    this.#memo.clear();
  }

  /**
   * The value computed for `key` in this evaluation, computing it on first use. OPA caches
   * `rand.intn` and `uuid.rfc4122` per query this way: equal arguments, equal result.
   */
  memo<T>(key: string, compute: () => T): T {
    if (this.#memo.has(key)) return this.#memo.get(key) as T;
    const value = compute();
    this.#memo.set(key, value);
    return value;
  }

  /** "Now" for the current evaluation, stable until the next {@link begin}. */
  nowNs(): bigint {
    this.#now ??= this.#clock();
    return this.#now;
  }
}

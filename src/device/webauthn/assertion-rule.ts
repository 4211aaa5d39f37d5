import type { DeviceRecord } from './types.js';

/** What recording a verified assertion did (see {@link DeviceRegistry.recordAssertion}). */
export type AssertionOutcome =
  | { readonly ok: true; readonly device: DeviceRecord }
  | { readonly ok: false; readonly reason: 'unknown' | 'counter' };

/**
 * The rule a verified assertion is recorded under, applied by every registry inside its atomic
 * step: the device must be `sub`'s and approved, and its signature counter must rise whenever
 * the stored or the new value is non-zero (a cloned authenticator shows up as a counter that does
 * not rise). On success the new record carries the counter and `last_used`.
 *
 * @param current the record as stored now (read in the same atomic step).
 * @param at Unix seconds.
 */
export function applyAssertion(
  current: DeviceRecord | undefined,
  sub: string,
  counter: number,
  at: number,
): AssertionOutcome {
  if (current === undefined || current.sub !== sub || current.approval !== 'approved')
    return { ok: false, reason: 'unknown' };
  if ((counter > 0 || current.counter > 0) && counter <= current.counter)
    return { ok: false, reason: 'counter' };
  return { ok: true, device: { ...current, counter, last_used: at } };
}

/**
 * Shared by the store tests: records, and waiting on a condition with a deadline (never a time
 * assertion beyond that bound).
 */
import { randomBytes } from 'node:crypto';
import type { SessionRecord } from '../../../src/store/types.js';

/** A fresh session id, as sign-in makes them. */
export function newSid(): string {
  return randomBytes(16).toString('base64url');
}

/** A record for `sub`, living `ttlMs` from now. */
export function record(sub: string, ttlMs = 60_000, sid = newSid()): SessionRecord {
  const now = Date.now();
  return {
    sid,
    sub,
    createdAt: now,
    expiresAt: now + ttlMs,
    data: { email: `${sub}@example.com`, groups: ['staff'], refresh_token: `rt-${sid}` },
  };
}

/**
 * Poll `check` every 10 ms until it returns true; false when `deadlineMs` passes first.
 *
 * @example assert.ok(await within(1000, async () => (await store.get(sid)) === undefined));
 */
export async function within(
  deadlineMs: number,
  check: () => boolean | Promise<boolean>,
): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= end) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

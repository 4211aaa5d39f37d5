/**
 * OPA's `numbers.range_step(a, b, step)` and `rand.intn(str, n)`.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { EvalContext } from './context.js';

/** Most numbers `numbers.range_step` returns: OPA stops only on cancellation, Gatehouse bounds it. */
export const MAX_RANGE = 1_000_000;

/** `numbers.range_step(a, b, step)`: `a` to `b` inclusive, descending when `a > b`. */
export function rangeStep(a: unknown, b: unknown, step: unknown): number[] | undefined {
  if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || !Number.isSafeInteger(step))
    return undefined;
  const [x, y, s] = [a as number, b as number, step as number];
  if (s <= 0 || Math.abs(y - x) / s >= MAX_RANGE) return undefined;
  const out: number[] = [];
  if (x <= y) for (let i = x; i <= y; i += s) out.push(i);
  else for (let i = x; i >= y; i -= s) out.push(i);
  return out;
}

/**
 * `rand.intn(str, n)`: a random integer in `[0, |n|)`, the same for the same `str` and `n`
 * within one evaluation; 0 when `n` is 0.
 */
export function randIntn(ctx: EvalContext): (str: unknown, n: unknown) => number | undefined {
  return (str, n) => {
    if (typeof str !== 'string' || !Number.isSafeInteger(n)) return undefined;
    const bound = Math.abs(n as number);
    if (bound === 0) return 0;
    return ctx.memo(`rand.intn:${str}-${bound}`, () =>
      bound <= 2 ** 48 - 1
        ? randomInt(bound)
        : Number(randomBytes(8).readBigUInt64BE() % BigInt(bound)),
    );
  };
}

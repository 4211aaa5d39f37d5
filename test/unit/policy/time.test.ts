import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EvalContext } from '../../../src/policy/builtins/context.js';
import * as time from '../../../src/policy/builtins/time.js';

/** Unwraps an exact-integer result (number, or JSON text in an ArrayBuffer) to a bigint. */
function big(value: unknown): bigint | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return BigInt(value);
  if (value instanceof ArrayBuffer) return BigInt(new TextDecoder().decode(value));
  throw new Error(`unexpected ${typeof value}`);
}

describe('time.parse_rfc3339_ns', () => {
  const cases: Array<[string, bigint | undefined]> = [
    ['1970-01-01T00:00:00Z', 0n],
    ['2020-01-01T00:00:00Z', 1577836800000000000n],
    ['2020-01-01T00:00:00.123456789Z', 1577836800123456789n],
    ['2020-01-01T00:00:00.123456789123+01:00', 1577833200123456789n],
    ['2020-01-01T00:00:00.5-00:30', 1577838600500000000n],
    ['1969-12-31T23:59:59.999999999Z', -1n],
    ['2262-04-11T23:47:16.854775807Z', 9223372036854775807n],
    ['2262-04-11T23:47:16.854775808Z', undefined],
    ['0001-01-01T00:00:00Z', undefined],
    ['2020-02-30T00:00:00Z', undefined],
    ['2020-02-29T00:00:00Z', 1582934400000000000n],
    ['2020-01-01t00:00:00z', undefined],
    ['2020-01-01T24:00:00Z', undefined],
    ['2020-01-01T00:00:60Z', undefined],
    ['2020-01-01', undefined],
    ['garbage', undefined],
  ];
  for (const [input, expected] of cases) {
    test(`${input} → ${expected}`, () => assert.equal(big(time.parseRfc3339Ns(input)), expected));
  }
});

describe('time.parse_duration_ns (Go ParseDuration)', () => {
  const cases: Array<[string, bigint | undefined]> = [
    ['0', 0n],
    ['1h', 3600000000000n],
    ['1h30m', 5400000000000n],
    ['-1.5µs', -1500n],
    ['1.5μs', 1500n],
    ['+2us', 2000n],
    ['.5s', 500000000n],
    ['1.s', 1000000000n],
    ['2562047h47m16.854775807s', 9223372036854775807n],
    ['2562048h', undefined],
    ['1.5h-3m', undefined],
    ['1', undefined],
    ['h', undefined],
    ['.s', undefined],
    ['', undefined],
    ['1.5d2h', 136800000000000n],
    ['1w', 604800000000000n],
    ['1y', 31536000000000000n],
    ['1D', undefined],
    ['1mo', undefined],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} → ${expected}`, () =>
      assert.equal(big(time.parseDurationNs(input)), expected));
  }
});

describe('calendar builtins', () => {
  // biome-ignore lint/correctness/noPrecisionLoss: Rego numbers reach the builtins as float64, like this literal
  const t = 1700000000123456789; // 2023-11-14T22:13:20.123456789Z, a Tuesday
  test('time.date / clock / weekday in UTC', () => {
    assert.deepEqual(time.date(t), [2023, 11, 14]);
    assert.deepEqual(time.clock(t), [22, 13, 20]);
    assert.equal(time.weekday(t), 'Tuesday');
  });
  test('with an IANA zone', () => {
    assert.deepEqual(time.date([t, 'Asia/Tokyo']), [2023, 11, 15]);
    assert.deepEqual(time.clock([t, 'Asia/Tokyo']), [7, 13, 20]);
    assert.equal(time.weekday([t, 'Asia/Tokyo']), 'Wednesday');
    assert.deepEqual(time.date([0, 'America/New_York']), [1969, 12, 31]);
    assert.deepEqual(time.date([t, '']), [2023, 11, 14]);
  });
  test('before the epoch', () => {
    assert.deepEqual(time.clock(-1), [23, 59, 59]);
    assert.deepEqual(time.date(-1), [1969, 12, 31]);
  });
  test('invalid arguments are undefined', () => {
    assert.equal(time.date([t, 'Not/AZone']), undefined);
    assert.equal(time.date(1.5), undefined);
    assert.equal(time.date('x'), undefined);
    assert.equal(time.weekday([t]), undefined);
  });
  test('time.add_date normalises like Go AddDate', () => {
    const oct31 = 1698710400000000000; // 2023-10-31T00:00:00Z
    assert.equal(big(time.addDate(oct31, 0, 1, 0)), 1701388800000000000n); // 2023-12-01
    assert.equal(big(time.addDate(0, 0, 1, 30)), 5270400000000000n);
    assert.equal(big(time.addDate(0, 300, 0, 0)), undefined); // beyond int64 ns
  });
  test('time.diff', () => {
    assert.deepEqual(time.diff(0, 1e18), [31, 8, 8, 1, 46, 40]);
    assert.deepEqual(time.diff(1e18, 0), [31, 8, 8, 1, 46, 40]);
    // 2023-01-31 → 2023-03-01: borrow from January's 31 days.
    assert.deepEqual(time.diff(1675123200000000000, 1677628800000000000), [0, 1, 1, 0, 0, 0]);
  });
});

test('time.now_ns is fixed within one evaluation and advances between evaluations', () => {
  let clock = 1_700_000_000_000_000_001n;
  let reads = 0;
  const ctx = new EvalContext(() => {
    reads++;
    return clock;
  });
  const now = time.nowNs(ctx);
  ctx.begin();
  const a = big(now());
  clock += 5n;
  assert.equal(big(now()), a, 'second read in the same evaluation');
  assert.equal(a, 1_700_000_000_000_000_001n, 'exact beyond 2^53');
  ctx.begin();
  assert.equal(big(now()), 1_700_000_000_000_000_006n);
  assert.equal(reads, 2, 'the clock is read lazily, once per evaluation');
});

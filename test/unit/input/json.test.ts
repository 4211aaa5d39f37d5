import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseJson } from '../../../src/input/json.js';
import { assertCode } from './support.js';

/**
 * parseJson takes the plain JSON.parse when every long or exponent number in the body is carried
 * exactly by a double, and the exact (reviver) path otherwise. The two must agree: a body is
 * parsed as is, and again with one number appended that no double carries (which forces the
 * exact path for the whole body); the second must serialise as the first plus that number.
 */
const POISON = '123456789012345678901234567890';

/** A deterministic pseudo-random generator (xorshift32), so a failure reproduces. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function numberToken(r: () => number): string {
  const digits = (n: number): string =>
    Array.from({ length: n }, () => String(Math.floor(r() * 10))).join('');
  const int = String(BigInt(`1${digits(Math.floor(r() * 20))}`) - (r() < 0.3 ? 1n : 0n));
  const frac = r() < 0.6 ? `.${digits(1 + Math.floor(r() * 19))}` : '';
  const exp =
    r() < 0.25
      ? `${r() < 0.5 ? 'e' : 'E'}${['', '+', '-'][Math.floor(r() * 3)]}${Math.floor(r() * 30)}`
      : '';
  return `${r() < 0.3 ? '-' : ''}${r() < 0.1 ? '0' : int}${frac}${exp}`;
}

test('parseJson: the plain path gives what the exact path gives, over 2,000 random bodies', () => {
  const r = rng(0x9e3779b9);
  let plainPath = 0;
  for (let i = 0; i < 2000; i++) {
    const tokens = Array.from({ length: 1 + Math.floor(r() * 6) }, () => numberToken(r));
    // Numbers in arrays, as object values, and next to strings that look like numbers.
    const body = `{"a":[${tokens.join(',')}],"s":"1234567890123456789e5","o":{"n":${tokens[0]}}}`;
    const poisoned = `{"a":[${tokens.join(',')},${POISON}],"s":"1234567890123456789e5","o":{"n":${tokens[0]}}}`;
    const fast = JSON.stringify(parseJson(body));
    const exact = JSON.stringify(parseJson(poisoned));
    assert.equal(exact, fast.replace(/\],"s":/, `,${POISON}],"s":`), `body ${body}`);
    if (fast === JSON.stringify(JSON.parse(body))) plainPath++;
  }
  // Both kinds of body occur: most are carried exactly, some are not.
  assert.ok(plainPath > 200 && plainPath < 2000, `plain-path bodies: ${plainPath}`);
});

test('parseJson: long numbers a double carries exactly stay numbers; others keep their digits', () => {
  // 16.990000000000002 is what JSON.stringify writes for 9.99 + 7: carried exactly.
  assert.equal(
    JSON.stringify(parseJson('{"price":16.990000000000002,"id":12345678901234567890}')),
    '{"price":16.990000000000002,"id":12345678901234567890}',
  );
  assert.equal(
    JSON.stringify(parseJson('[1.5e3,1E-2,0.1000000000000000055]')),
    '[1500,0.01,0.1000000000000000055]',
  );
  assert.equal(typeof (parseJson('[16.990000000000002]') as number[])[0], 'number');
});

test('parseJson: numbers out of range and invalid numbers are ERR_BODY_INVALID on either path', () => {
  for (const body of ['[1e400]', '[-1e400]', '[1e]', '[1.5e3, 1e400]', '{"a":--1}', '[01]', '[1.]'])
    assertCode(() => parseJson(body), 'ERR_BODY_INVALID');
});

test('parseJson: numbers in their shortest round-trip form (what JSON.stringify writes) agree on both paths', () => {
  // carriedExactly accepts these without normalising; the exact path must give the same value.
  const r = rng(0x2545f491);
  const doubles = [1e21, 1.5e-7, 5e-324, 1.7976931348623157e308, -2.5e-300, 0.1 + 0.2, 9.99 + 7];
  for (let i = 0; i < 500; i++) {
    const bits = new DataView(new ArrayBuffer(8));
    bits.setUint32(0, Math.floor(r() * 2 ** 32));
    bits.setUint32(4, Math.floor(r() * 2 ** 32));
    const x = bits.getFloat64(0);
    if (Number.isFinite(x)) doubles.push(x);
  }
  for (const x of doubles) {
    const text = String(x);
    const fast = JSON.stringify(parseJson(`[${text}]`));
    const exact = JSON.stringify(parseJson(`[${text},${POISON}]`));
    assert.equal(fast, `[${text}]`);
    assert.equal(exact, `[${text},${POISON}]`);
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goQuote, sprintf } from '../../../src/policy/builtins/sprintf.js';
import { sdkSprintfIsGatehouse } from '../../../src/policy/builtins/sdk.js';

// Expected strings are what `opa eval 'sprintf(…)'` (OPA 1.22, Go fmt) prints.
const cases: Array<[string, unknown[], string]> = [
  ['%v %v %v %v', [[1, 'a'], { a: 1 }, 's', 1.5], '[1, "a"] {"a": 1} s 1.5'],
  ['%d %s %q %x %f %%', [3, 'x', 'q"', 255, 1.5], '3 x "q\\"" ff 1.500000 %'],
  ['%s', [[1]], '[1]'],
  ['%d', [1.5], '%!d(float64=1.5)'],
  ['%v', [null], 'null'],
  ['%v', [true], 'true'],
  ['%.2f', [3.14159], '3.14'],
  ['%5d|%-5s|', [3, 'x'], '    3|x    |'],
  ['%x', ['hi'], '6869'],
  ['%s %s', ['a'], 'a %!s(MISSING)'],
  ['%v|%v|%v|%v', [1234567.5, 0.00001, 123456.5, 1.5e300], '1.2345675e+06|1e-05|123456.5|1.5e+300'],
  [
    '%v',
    [{ b: 1, a: [2, 'x', null, true, { c: 1.5 }] }],
    '{"a": [2, "x", null, true, {"c": 1.5}], "b": 1}',
  ],
  [
    '%s|%d|%f|%q|%x|%t|%e',
    [1, 'a', 2, 65, -255, true, 1.5],
    "%!s(int64=1)|%!d(string=a)|%!f(int64=2)|'A'|-ff|%!t(string=true)|1.500000e+00",
  ],
  [
    '%q|%x|%X|%5.1f|%-6v|%06d|%+d|%.2s|%c',
    ['a"\n\u0001é', 'hé', 255, 3.14159, 'ab', 42, 5, 'héllo', 65],
    '"a\\"\\n\\x01é"|68c3a9|FF|  3.1|ab    |000042|+5|hé|A',
  ],
  ['%v %v', [1, 2, 3, 'x'], '1 2%!(EXTRA int64=3, string=x)'],
  ['%d|%v|%s', [true, 1.0, null], '%!d(string=true)|1|null'],
  ['%v', [-0.5], '-0.5'],
  [
    '%g|%.3g|%e|%.2e|%G|%E',
    [100000000.5, 3.14159, 123456.789, 0.000123, 1e-7, 1e22 + 0.5],
    '1.000000005e+08|3.14|1.234568e+05|1.23e-04|1E-07|1.000000E+22',
  ],
  ['%b|%o|%O|%#x|%# x|% d', [5, 8, 8, 255, 'ab', 3], '101|10|0o10|0xff|0x61 0x62| 3'],
  ['no verbs', [], 'no verbs'],
  ['trailing %', [], 'trailing %!(NOVERB)'],
];

for (const [format, args, expected] of cases) {
  test(`sprintf(${JSON.stringify(format)}, ${JSON.stringify(args)}) matches Go`, () => {
    assert.equal(sprintf(format, args), expected);
  });
}

test('sprintf with wrong argument types is undefined', () => {
  assert.equal(sprintf(1, []), undefined);
  assert.equal(sprintf('%v', 'not an array'), undefined);
});

test('goQuote escapes like strconv.Quote', () => {
  assert.equal(goQuote('tab\there\u2028\u{1F600}\u007f'), '"tab\\there\\u2028\u{1F600}\\x7f"');
});

test('the SDK dispatches sprintf to Gatehouse, not sprintf-js', () => {
  assert.equal(sdkSprintfIsGatehouse(), true);
});

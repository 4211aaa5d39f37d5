/**
 * The Rego value text the adapter hands to the module's `opa_value_parse` for a builtin result
 * holding a set (src/deps/rego-value.ts). That the module reads it as OPA's value is checked
 * against `opa eval` by test/integration/policy/builtins-vs-opa.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { containsSet, RegoSet, toRegoText } from '../../../src/deps/rego-value.js';

describe('rego value text', () => {
  test('sets are written {a, b}, the empty set set()', () => {
    assert.equal(toRegoText(new RegoSet(['a', 'b'])), '{"a", "b"}');
    assert.equal(toRegoText(new RegoSet([])), 'set()');
    assert.equal(toRegoText(new RegoSet([new RegoSet([1]), null])), '{{1}, null}');
  });

  test('everything else as JSON.stringify writes it', () => {
    const set = new RegoSet([true]);
    assert.equal(
      toRegoText({ 'k"': set, n: -1.5e-7, s: 'é\n"', a: [undefined, set], u: undefined }),
      `{"k\\"": {true}, "n": -1.5e-7, "s": "é\\n\\"", "a": [null, {true}]}`,
    );
    const big = (JSON as unknown as { rawJSON(t: string): unknown }).rawJSON(
      '12345678901234567890',
    );
    assert.equal(toRegoText([big, set]), '[12345678901234567890, {true}]');
  });

  test('containsSet finds a set at any depth and nothing in plain JSON', () => {
    assert.equal(containsSet({ a: [{ b: new RegoSet([]) }] }), true);
    assert.equal(containsSet({ a: [{ b: [] }], c: 'set()' }), false);
    assert.equal(containsSet(null), false);
  });
});

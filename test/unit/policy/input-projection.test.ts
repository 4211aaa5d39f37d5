/** The projection of the policy input onto the paths a policy can read (src/policy/input-projection.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inputProjector } from '../../../src/policy/input-projection.js';

const INPUT = {
  attributes: { request: { http: { method: 'POST', headers: { a: '1', b: '2' }, body: '{}' } } },
  parsed_path: ['api', 'orders'],
  parsed_body: { amount: 5 },
  identity: { authenticated: true, groups: ['staff'] },
  version: { encoding: 'protojson', ext_authz: 'v3' },
};

test("'all' hands over the input itself", () => {
  assert.equal(inputProjector('all')(INPUT), INPUT);
});

test('keeps only the kept paths, and shares the kept subtrees', () => {
  const cut = inputProjector([
    ['identity'],
    ['attributes', 'request', 'http', 'method'],
    ['parsed_path'],
  ]);
  const out = cut(INPUT) as typeof INPUT;
  assert.deepEqual(JSON.parse(JSON.stringify(out)), {
    attributes: { request: { http: { method: 'POST' } } },
    parsed_path: ['api', 'orders'],
    identity: { authenticated: true, groups: ['staff'] },
  });
  assert.equal(out.identity, INPUT.identity);
  assert.equal(out.parsed_path, INPUT.parsed_path);
  assert.notEqual(out.attributes, INPUT.attributes);
});

test('a path that is absent stays absent; one under a scalar or an array keeps that value whole', () => {
  const cut = inputProjector([
    ['missing', 'x'],
    ['parsed_path', 'x'],
    ['version', 'encoding', 'y'],
  ]);
  assert.deepEqual(JSON.parse(JSON.stringify(cut(INPUT))), {
    parsed_path: ['api', 'orders'],
    version: { encoding: 'protojson' },
  });
});

test('a policy that reads nothing of input gets an empty object', () => {
  assert.equal(JSON.stringify(inputProjector([])(INPUT)), '{}');
});

test('a shorter path wins over a longer one, in either order', () => {
  for (const paths of [
    [
      ['attributes', 'request', 'http', 'headers', 'a'],
      ['attributes', 'request'],
    ],
    [
      ['attributes', 'request'],
      ['attributes', 'request', 'http', 'headers', 'a'],
    ],
  ]) {
    const out = inputProjector(paths)(INPUT) as typeof INPUT;
    assert.equal(out.attributes.request, INPUT.attributes.request);
  }
});

test('a value with toJSON, a class instance, or a non-object input is kept whole', () => {
  const when = new Date(0);
  class Box {
    readonly a = 1;
    readonly b = 2;
  }
  const input = { when, box: new Box(), keep: { a: 1, b: 2 } };
  const cut = inputProjector([
    ['when', 'x'],
    ['box', 'a'],
    ['keep', 'a'],
  ]);
  assert.equal(
    JSON.stringify(cut(input)),
    JSON.stringify({ when, box: { a: 1, b: 2 }, keep: { a: 1 } }),
  );
  assert.equal(cut('text'), 'text');
  assert.equal(cut(undefined), undefined);
  const list = [{ a: 1 }];
  assert.equal(cut(list), list);
});

test('an exact long number (JSON.rawJSON, from the body parser) is kept whole', () => {
  const raw = (JSON as unknown as { rawJSON: (text: string) => unknown }).rawJSON;
  const input = { parsed_body: { id: raw('12345678901234567890'), other: 1 } };
  const cut = inputProjector([['parsed_body', 'id', 'x']]);
  assert.equal(JSON.stringify(cut(input)), '{"parsed_body":{"id":12345678901234567890}}');
});

test('a kept key named __proto__ is an ordinary key, never a prototype', () => {
  const input = JSON.parse('{"__proto__": {"polluted": true}, "other": 1}') as object;
  const out = inputProjector([['__proto__']])(input) as Record<string, unknown>;
  assert.equal(JSON.stringify(out), '{"__proto__":{"polluted":true}}');
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

test('a path key holding U+FFFD keeps the object holding it whole: lone surrogates reach the module as U+FFFD', () => {
  // As JSON.parse makes them from `\ud800` escapes in a body: both keys become "\ufffd" in the
  // module, so the policy's key "\ufffd" may read either.
  const body = JSON.parse('{"\\ud800": true, "\\ufffd": false, "other": 1}') as object;
  const input = { parsed_body: body, attributes: { a: 1 } };
  const out = inputProjector([['parsed_body', '\uFFFD']])(input) as Record<string, unknown>;
  assert.equal(out['parsed_body'], body);
  assert.equal(out['attributes'], undefined);
  // At the root: the whole input.
  assert.equal(inputProjector([['\uFFFD', 'x']])(input), input);
  // Keys without it are cut as before.
  const plain = inputProjector([['parsed_body', 'other']])(input) as Record<string, unknown>;
  assert.equal(JSON.stringify(plain), '{"parsed_body":{"other":1}}');
});

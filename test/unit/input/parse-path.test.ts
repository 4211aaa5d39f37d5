import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_FORM_FIELDS, MAX_PATH_LENGTH } from '../../../src/input/limits.js';
import { parsePath } from '../../../src/input/parse-path.js';
import { assertCode, fixture, plain } from './support.js';

type PathCase =
  | { name: string; path: string; parsed_path: string[]; parsed_query: Record<string, string[]> }
  | { name: string; path: string; error: string };

for (const c of fixture<PathCase[]>('paths.json')) {
  test(`parsePath: ${c.name}`, () => {
    if ('error' in c) {
      assertCode(() => parsePath(c.path), c.error);
      return;
    }
    const { parsedPath, parsedQuery } = parsePath(c.path);
    assert.deepEqual(parsedPath, c.parsed_path);
    assert.deepEqual(plain(parsedQuery), c.parsed_query);
  });
}

test('security: a leading // is never an authority', () => {
  const { parsedPath } = parsePath('//evil.example/admin');
  assert.deepEqual(parsedPath, ['evil.example', 'admin']);
});

test('security: an encoded slash never splits a segment', () => {
  assert.deepEqual(parsePath('/public%2F..%2Fadmin').parsedPath, ['public/../admin']);
});

test('security: a __proto__ query key does not touch the prototype', () => {
  const { parsedQuery } = parsePath('/p?__proto__=x');
  assert.equal(Object.getPrototypeOf(parsedQuery), null);
  assert.deepEqual(Object.getOwnPropertyDescriptor(parsedQuery, '__proto__')?.value, ['x']);
});

test('limits: path length and query field count are bounded', () => {
  assert.doesNotThrow(() => parsePath('/' + 'a'.repeat(MAX_PATH_LENGTH - 1)));
  assertCode(() => parsePath('/' + 'a'.repeat(MAX_PATH_LENGTH)), 'ERR_PATH_INVALID');
  assert.doesNotThrow(() => parsePath('/?' + 'a&'.repeat(MAX_FORM_FIELDS)));
  assertCode(() => parsePath('/?' + 'a&'.repeat(MAX_FORM_FIELDS) + 'b'), 'ERR_PATH_INVALID');
});

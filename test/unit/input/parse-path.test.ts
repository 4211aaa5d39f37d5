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

test('security: an encoded slash never reaches the policy (ERR_PATH_NOT_NORMAL)', () => {
  assertCode(() => parsePath('/public%2F..%2Fadmin'), 'ERR_PATH_NOT_NORMAL');
});

// Issue 12 point 5: assume the proxy did not normalise. Every path here produced a parsed_path
// that a prefix policy on ["public"] allowed while the upstream resolved it elsewhere.
const NOT_NORMAL = [
  '/public/../admin',
  '/public/./admin',
  '/public/..',
  '/public/.',
  '/..',
  '/./admin',
  '/public/%2e%2e/admin',
  '/public/%2E%2E/admin',
  '/public/.%2e/admin',
  '/public/%2e./admin',
  '/public/%2e/admin',
  '/public/%252e%252e/admin',
  '/public/%25252e%25252e/admin',
  '/public/%25',
  '/public/a%25b',
  '/public/..;/admin',
  '/public;x=1/../admin',
  '/public/%2e%2e;/admin',
  '/public/x;jsessionid=1',
  '/public/%3b/admin',
  '/public\\..\\admin',
  '/public/..\\admin',
  '/public/%5c..%5cadmin',
  '/public/%5C',
  '/public/.../admin',
  '/public/..../admin',
  '/public/%2e%2e%2e/admin',
  '/public/%2fadmin',
  '/public%2f..%2fadmin',
  '/public/%0a/admin',
  '/public/%0d%0a',
  '/public/%09',
  '/public/%7f',
  '/public/%c2%85',
];
for (const path of NOT_NORMAL) {
  test(`paths: ${JSON.stringify(path)} is refused before the policy (ERR_PATH_NOT_NORMAL)`, () => {
    assertCode(() => parsePath(path), 'ERR_PATH_NOT_NORMAL');
  });
}

test('paths: normal paths still parse (dots inside names, encoded spaces and unicode, a trailing slash, the query untouched)', () => {
  assert.deepEqual(parsePath('/public/file.tar.gz').parsedPath, ['public', 'file.tar.gz']);
  assert.deepEqual(parsePath('/public/.well-known/x').parsedPath, ['public', '.well-known', 'x']);
  assert.deepEqual(parsePath('/public/a%20b/caf%C3%A9/').parsedPath, ['public', 'a b', 'café', '']);
  assert.deepEqual(parsePath('/public/x?next=/../admin%3Ba=%25').parsedQuery['next'], [
    '/../admin;a=%',
  ]);
  assert.deepEqual(parsePath('*').parsedPath, ['*']);
});

test('security: a __proto__ query key does not touch the prototype', () => {
  const { parsedQuery } = parsePath('/p?__proto__=x');
  assert.equal(Object.getPrototypeOf(parsedQuery), null);
  assert.deepEqual(Object.getOwnPropertyDescriptor(parsedQuery, '__proto__')?.value, ['x']);
});

test('limits: path length and query field count are bounded', () => {
  assert.doesNotThrow(() => parsePath(`/${'a'.repeat(MAX_PATH_LENGTH - 1)}`));
  assertCode(() => parsePath(`/${'a'.repeat(MAX_PATH_LENGTH)}`), 'ERR_PATH_INVALID');
  assert.doesNotThrow(() => parsePath(`/?${'a&'.repeat(MAX_FORM_FIELDS)}`));
  assertCode(() => parsePath(`/?${'a&'.repeat(MAX_FORM_FIELDS)}b`), 'ERR_PATH_INVALID');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as jwt from '../../../src/policy/builtins/jwt.js';
import * as urlquery from '../../../src/policy/builtins/urlquery.js';

const b64 = (v: unknown): string =>
  Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

test('io.jwt.decode returns header, payload and hex signature without verifying', () => {
  const token = `${b64({ alg: 'HS256' })}.${b64({ sub: 'x' })}.${b64('sig')}`;
  assert.deepEqual(jwt.decode(token), [{ alg: 'HS256' }, { sub: 'x' }, '736967']);
});

test('io.jwt.decode follows a nested (cty: JWT) token', () => {
  const inner = `${b64({ alg: 'HS256' })}.${b64({ sub: 'inner' })}.${b64('s')}`;
  const outer = `${b64({ alg: 'HS256', cty: 'JWT' })}.${b64(inner)}.${b64('o')}`;
  assert.deepEqual(jwt.decode(outer)?.[1], { sub: 'inner' });
});

const badTokens: Array<[string, unknown]> = [
  ['two parts', `${b64({ alg: 'none' })}.${b64({})}`],
  ['five parts (JWE)', 'a.b.c.d.e'],
  ['payload not an object', `${b64({ alg: 'HS256' })}.${b64([])}.${b64('s')}`],
  ['header not JSON', `${b64('nope')}.${b64({})}.`],
  ['invalid base64url', `${b64({ alg: 'HS256' })}.*.${b64('s')}`],
  ['not a string', 42],
];
for (const [name, token] of badTokens) {
  test(`io.jwt.decode of ${name} is undefined`, () => assert.equal(jwt.decode(token), undefined));
}

test('urlquery follows Go net/url', () => {
  assert.equal(urlquery.encode("a b!*()~-_.'é/?"), 'a+b%21%2A%28%29~-_.%27%C3%A9%2F%3F');
  assert.equal(urlquery.decode('a+b%20c%C3%A9'), 'a b cé');
  assert.equal(urlquery.decode('%zz'), undefined);
  assert.equal(urlquery.encodeObject({ b: ['2', '1'], a: 'x y' }), 'a=x+y&b=2&b=1');
  assert.deepEqual(urlquery.decodeObject('a=1&b=2&a=3&c&d='), {
    a: ['1', '3'],
    b: ['2'],
    c: [''],
    d: [''],
  });
  assert.equal(urlquery.decodeObject('a=1;b=2'), undefined);
});

test('urlquery.decode_object cannot pollute prototypes', () => {
  const out = urlquery.decodeObject('__proto__=x&constructor=y');
  assert.deepEqual(Object.keys(out ?? {}), ['__proto__', 'constructor']);
  assert.equal(({} as Record<string, unknown>)['x'], undefined);
});

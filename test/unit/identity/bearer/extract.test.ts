import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extractBearer } from '../../../../src/identity/bearer/extract.js';
import { GatehouseError } from '../../../../src/errors/gatehouse-error.js';

const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';

for (const [header, expected] of [
  [`Bearer ${TOKEN}`, TOKEN],
  [`bearer ${TOKEN}`, TOKEN],
  [`BEARER ${TOKEN}`, TOKEN],
  [`Bearer   ${TOKEN}`, TOKEN],
  [`  Bearer ${TOKEN}  `, TOKEN],
  ['Bearer abc-._~+/==', 'abc-._~+/=='],
] as const) {
  test(`extractBearer: ${JSON.stringify(header)} → the token`, () =>
    assert.equal(extractBearer(header), expected));
}

for (const header of [
  undefined,
  '',
  'Basic dXNlcjpwYXNz',
  'Digest username="x"',
  'Bearerish abc',
  'Negotiate abc',
]) {
  test(`extractBearer: ${JSON.stringify(header)} → not a bearer header`, () =>
    assert.equal(extractBearer(header), undefined));
}

for (const header of [
  'Bearer',
  'Bearer ',
  `Bearer ${TOKEN}, Bearer ${TOKEN}`,
  `Bearer ${TOKEN} ${TOKEN}`,
  `Bearer ${TOKEN},`,
  'Bearer "abc"',
  `Bearer\t${TOKEN}`,
  `Bearer ${TOKEN}\r\nX: y`,
]) {
  test(`extractBearer: ${JSON.stringify(header)} → ERR_TOKEN_INVALID`, () => {
    assert.throws(
      () => extractBearer(header),
      (err: unknown) => err instanceof GatehouseError && err.code === 'ERR_TOKEN_INVALID',
    );
  });
}

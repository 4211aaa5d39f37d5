import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_SESSION_COOKIE,
  sessionClearCookie,
  sessionSetCookie,
} from '../../../../src/identity/session/cookie.js';

test('session cookie: default name is __Host-gatehouse', () => {
  assert.equal(DEFAULT_SESSION_COOKIE, '__Host-gatehouse');
});

test('session cookie: set with Secure, HttpOnly, SameSite=Lax, Path=/ and no Domain', () => {
  const header = sessionSetCookie('__Host-gatehouse', 'abc.def.ghi', 3600);
  assert.equal(
    header,
    '__Host-gatehouse=abc.def.ghi; Path=/; Max-Age=3600; Secure; HttpOnly; SameSite=Lax',
  );
  assert.doesNotMatch(header, /Domain/i);
});

test('session cookie: cleared with the same attributes and Max-Age=0', () => {
  const header = sessionClearCookie('__Host-gatehouse');
  assert.match(
    header,
    /^__Host-gatehouse=; Path=\/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; HttpOnly; SameSite=Lax$/,
  );
});

test('session cookie: a value that is not a cookie value is a caller error', () => {
  assert.throws(() => sessionSetCookie('__Host-gatehouse', 'a;b', 10));
});

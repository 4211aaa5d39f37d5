import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCookieHeader } from '../../../../src/identity/session/cookies.js';

// Found in review: splitting on `,` let a cookie set by a sibling subdomain carry
// `x=1,__Host-gatehouse=<another session>` in its value and plant that session (login CSRF).
test("cookies: a comma inside another cookie never starts one of Gatehouse's cookies", () => {
  for (const header of [
    'foo=x,__Host-gatehouse=EVIL',
    'foo=x, __Host-gatehouse=EVIL; a=1',
    'foo="x,__Host-gatehouse=EVIL"',
  ]) {
    assert.equal(parseCookieHeader(header).get('__Host-gatehouse'), undefined, header);
  }
  assert.equal(
    parseCookieHeader('foo=x,__Host-gatehouse=EVIL; __Host-gatehouse=REAL').get('__Host-gatehouse'),
    'REAL',
  );
});

test('cookies: pairs are split on ";" and the first occurrence of a name wins', () => {
  const c = parseCookieHeader('a=1; b="2"; a=3; =x; junk');
  assert.equal(c.get('a'), '1');
  assert.equal(c.get('b'), '2');
  assert.equal(c.size, 2);
});

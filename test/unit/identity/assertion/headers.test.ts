import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_IDENTITY_HEADERS,
  identityHeaderMutations,
} from '../../../../src/identity/assertion/headers.js';
import { mentionsCookie, removeCookies } from '../../../../src/identity/session/cookies.js';
import { hasControlCharacter } from '../../../../src/response/header-safety.js';
import type { AuthenticatedIdentity } from '../../../../src/input/types.js';

const NAMES = DEFAULT_IDENTITY_HEADERS;
const GATEHOUSE_COOKIES = ['__Host-gatehouse', '__Host-gatehouse-txn'];
const IDENTITY: AuthenticatedIdentity = Object.freeze({
  authenticated: true,
  method: 'session',
  sub: 'alice-123',
  email: 'alice@example.com',
  email_verified: true,
  name: 'Alice',
  groups: ['admins', 'dev'],
  claims: {},
  session_id: 'AAAAAAAAAAAAAAAAAAAAAA',
  issued_at: 0,
  expires_at: 1,
});

/** Spoofed header names a client might send, each of which must be removed. */
const SPOOFS: [string, string][] = [
  ['X-Gatehouse-User', 'x-gatehouse-user'],
  ['x-gatehouse-user', 'x-gatehouse-user'],
  ['x_gatehouse_user', 'x_gatehouse_user'],
  ['X_GATEHOUSE-user', 'x_gatehouse-user'],
  ['x-gatehouse_user', 'x-gatehouse_user'],
  ['X-GATEHOUSE-EMAIL', 'x-gatehouse-email'],
  ['x_gatehouse_email', 'x_gatehouse_email'],
  ['x-Gatehouse-Groups', 'x-gatehouse-groups'],
  ['X_Gatehouse_Groups', 'x_gatehouse_groups'],
  ['x-gatehouse-jwt-assertion', 'x-gatehouse-jwt-assertion'],
  ['X_GATEHOUSE_JWT_ASSERTION', 'x_gatehouse_jwt_assertion'],
  ['x-gatehouse_jwt-assertion', 'x-gatehouse_jwt-assertion'],
];

for (const [sent, removed] of SPOOFS) {
  test(`identity headers: a client-supplied ${sent} is removed for an anonymous caller`, () => {
    const m = identityHeaderMutations({
      requestHeaders: { [sent]: 'root', host: 'app' },
      names: NAMES,
      sessionCookieNames: GATEHOUSE_COOKIES,
    });
    assert.deepEqual(m.set, []);
    assert.deepEqual(m.remove, [removed]);
  });
}

for (const [sent, removed] of SPOOFS) {
  test(`identity headers: a client-supplied ${sent} never survives next to the real identity`, () => {
    const m = identityHeaderMutations({
      requestHeaders: { [sent]: 'root' },
      names: NAMES,
      identity: IDENTITY,
      assertion: 'a.b.c',
      sessionCookieNames: [],
    });
    const setNames = m.set.map(([n]) => n);
    // Either it is removed, or it is exactly a name Gatehouse overwrites.
    assert.ok(m.remove.includes(removed) || setNames.includes(removed), `${sent} survives`);
    for (const name of m.remove)
      assert.equal(setNames.includes(name), false, `${name} is both set and removed`);
  });
}

test('identity headers: configured names (oauth2-proxy style) are stripped in any case and with underscores', () => {
  const names = {
    assertion: 'X-Auth-Request-Access-Token',
    user: 'X-Auth-Request-User',
    email: 'X-Auth-Request-Email',
    groups: 'X-Auth-Request-Groups',
  };
  const m = identityHeaderMutations({
    requestHeaders: { x_auth_request_user: 'root', 'X-AUTH-REQUEST-EMAIL': 'a@b', 'x-other': '1' },
    names,
    sessionCookieNames: [],
  });
  assert.deepEqual([...m.remove].sort(), ['x-auth-request-email', 'x_auth_request_user']);
});

test('identity headers: the identity is set, groups as an RFC 8941 list of strings, names lowercase', () => {
  const m = identityHeaderMutations({
    requestHeaders: {},
    names: NAMES,
    identity: IDENTITY,
    assertion: 'h.p.s',
    sessionCookieNames: [],
  });
  assert.deepEqual(m.set, [
    ['x-gatehouse-jwt-assertion', 'h.p.s'],
    ['x-gatehouse-user', 'alice-123'],
    ['x-gatehouse-email', 'alice@example.com'],
    ['x-gatehouse-groups', '"admins", "dev"'],
  ]);
  assert.deepEqual(m.remove, []);
  assert.equal(m.cookie, undefined);
});

test('identity headers: an email claim containing CR LF is never written', () => {
  const evil = { ...IDENTITY, email: 'alice@example.com\r\nx-admin: true' };
  const m = identityHeaderMutations({
    requestHeaders: { 'x-gatehouse-email': 'spoof' },
    names: NAMES,
    identity: evil,
    sessionCookieNames: [],
  });
  for (const [, value] of m.set) assert.doesNotMatch(value, /[\r\n\0]/);
  assert.equal(
    m.set.some(([name]) => name === 'x-gatehouse-email'),
    false,
  );
  assert.deepEqual(m.remove, ['x-gatehouse-email'], 'the spoofed copy is still removed');
});

test('identity headers: NUL, LF or other controls in sub or groups are never written', () => {
  const evil = { ...IDENTITY, sub: 'alice\0', groups: ['ok', 'bad\ngroup', 'tab\tbad'] };
  const m = identityHeaderMutations({
    requestHeaders: {},
    names: NAMES,
    identity: evil,
    sessionCookieNames: [],
  });
  assert.equal(
    m.set.some(([name]) => name === 'x-gatehouse-user'),
    false,
  );
  assert.deepEqual(
    m.set.find(([name]) => name === 'x-gatehouse-groups'),
    ['x-gatehouse-groups', '"ok"'],
  );
  for (const [, value] of m.set) assert.doesNotMatch(value, /[\u0000-\u001f\u007f]/);
});

test('identity headers: no groups → no groups header (and a spoofed one is removed)', () => {
  const m = identityHeaderMutations({
    requestHeaders: { 'x-gatehouse-groups': 'admins' },
    names: NAMES,
    identity: { ...IDENTITY, groups: [] },
    sessionCookieNames: [],
  });
  assert.equal(
    m.set.some(([name]) => name === 'x-gatehouse-groups'),
    false,
  );
  assert.deepEqual(m.remove, ['x-gatehouse-groups']);
});

test('identity headers: Gatehouse cookies are removed, the application cookies kept', () => {
  const m = identityHeaderMutations({
    requestHeaders: {
      cookie: 'theme=dark; __Host-gatehouse=abc.def.ghi; csrftoken=xyz; __Host-gatehouse-txn=t',
    },
    names: NAMES,
    sessionCookieNames: GATEHOUSE_COOKIES,
  });
  assert.equal(m.cookie, 'theme=dark; csrftoken=xyz');
});

test('identity headers: a cookie header with only Gatehouse cookies is removed (null)', () => {
  const m = identityHeaderMutations({
    requestHeaders: { Cookie: '__Host-gatehouse=abc' },
    names: NAMES,
    sessionCookieNames: GATEHOUSE_COOKIES,
  });
  assert.equal(m.cookie, null);
});

test('identity headers: a cookie header without Gatehouse cookies is left alone', () => {
  const m = identityHeaderMutations({
    requestHeaders: { cookie: 'a=1;b=2' },
    names: NAMES,
    sessionCookieNames: GATEHOUSE_COOKIES,
  });
  assert.equal(Object.hasOwn(m, 'cookie'), false);
});

test('identity headers: a cookie whose name merely starts like ours is kept', () => {
  const m = identityHeaderMutations({
    requestHeaders: { cookie: '__Host-gatehouse=s; __Host-gatehouse-app=keep' },
    names: NAMES,
    sessionCookieNames: ['__Host-gatehouse'],
  });
  assert.equal(m.cookie, '__Host-gatehouse-app=keep');
});

test('identity headers: unrelated headers are untouched', () => {
  const m = identityHeaderMutations({
    requestHeaders: {
      'x-gatehouse': '1',
      'x-gatehouse-user-agent': '2',
      'x-user': '3',
      authorization: 'Bearer x',
    },
    names: NAMES,
    sessionCookieNames: [],
  });
  assert.deepEqual(m.remove, []);
});

// Issue 12 point 2: Envoy joins repeated `cookie` lines with `,`; Gatehouse's cookies must never
// reach the upstream, however the header was split, merged or repeated.
test('cookies: a session cookie in a second cookie line (merged with ",") is cut out', () => {
  for (const header of [
    'theme=dark, __Host-gatehouse=SESSION',
    '__Host-gatehouse=SESSION, theme=dark',
    'theme=dark,__Host-gatehouse=SESSION',
    'a=1; theme=dark, __Host-gatehouse=SESSION; b=2',
    'theme=dark, __Host-gatehouse-txn=TXN, __Host-gatehouse=SESSION',
  ]) {
    const m = identityHeaderMutations({
      requestHeaders: { cookie: header },
      names: NAMES,
      sessionCookieNames: GATEHOUSE_COOKIES,
    });
    assert.ok(
      m.cookie === null || typeof m.cookie === 'string',
      `${header}: the cookie header is rewritten`,
    );
    assert.doesNotMatch(m.cookie ?? '', /gatehouse/i, header);
    assert.match(m.cookie ?? '', /theme=dark/, `${header}: the application's cookie is kept`);
  }
});

test('cookies: when Gatehouse cannot be sure its cookies are out, it refuses (ERR_COOKIE_AMBIGUOUS)', () => {
  for (const requestHeaders of [
    { cookie: 'theme=dark', Cookie: '__Host-gatehouse=SESSION' },
    { cookie: 'theme=dark; __HOST-GATEHOUSE=SESSION' },
    { cookie: 'theme=dark, __host-gatehouse =SESSION' },
  ]) {
    assert.throws(
      () =>
        identityHeaderMutations({
          requestHeaders,
          names: NAMES,
          sessionCookieNames: GATEHOUSE_COOKIES,
        }),
      (err: unknown) => (err as { code?: string }).code === 'ERR_COOKIE_AMBIGUOUS',
      JSON.stringify(requestHeaders),
    );
  }
});

test("cookies: application cookies are passed on byte for byte when none of Gatehouse's are present", () => {
  const m = identityHeaderMutations({
    requestHeaders: { cookie: 'a=1,2; b="x y"' },
    names: NAMES,
    sessionCookieNames: GATEHOUSE_COOKIES,
  });
  assert.equal(m.cookie, undefined);
});

// Issue 12 point 6: a group named `staff,admins` must never read as two groups.
test('groups header: names with commas, quotes and backslashes stay one item each (RFC 8941 List of Strings)', () => {
  const groups = ['staff,admins', 'say "hi"', 'back\\slash', ' spaced ', 'ok'];
  const m = identityHeaderMutations({
    requestHeaders: {},
    names: NAMES,
    identity: { ...IDENTITY, groups },
    sessionCookieNames: [],
  });
  const value = m.set.find(([name]) => name === 'x-gatehouse-groups')?.[1] ?? '';
  assert.equal(value, '"staff,admins", "say \\"hi\\"", "back\\\\slash", " spaced ", "ok"');
  assert.deepEqual(parseSfStringList(value), groups);
});

test('groups header: a non-ASCII group is left out (the assertion JWT keeps it), never mangled', () => {
  const m = identityHeaderMutations({
    requestHeaders: {},
    names: NAMES,
    identity: { ...IDENTITY, groups: ['Ingénieurs', 'staff'] },
    sessionCookieNames: [],
  });
  assert.equal(m.set.find(([name]) => name === 'x-gatehouse-groups')?.[1], '"staff"');
});

/** A strict RFC 8941 §4.2 parser for a List of sf-strings (what an upstream would run). */
function parseSfStringList(input: string): string[] {
  const out: string[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`${why} at ${i} in ${input}`);
  };
  while (i < input.length) {
    if (input[i] !== '"') fail('expected "');
    i++;
    let item = '';
    for (;;) {
      if (i >= input.length) fail('unterminated');
      const c = input[i++]!;
      if (c === '\\') {
        const next = input[i++];
        if (next !== '"' && next !== '\\') fail('bad escape');
        item += next;
      } else if (c === '"') break;
      else if (c < ' ' || c > '~') fail('not printable');
      else item += c;
    }
    out.push(item);
    while (input[i] === ' ') i++;
    if (i >= input.length) break;
    if (input[i] !== ',') fail('expected ,');
    i++;
    while (input[i] === ' ') i++;
    if (i >= input.length) fail('trailing comma');
  }
  return out;
}

// Found in review: the final filter drops HTAB, C1 and U+2028/9 too; an identity value holding one
// must not be "set" (its name would then be kept out of `remove` and the client's copy pass).
test('identity headers: a value the final filter would drop is not set, so the client copy is removed', () => {
  for (const email of [
    'alice\u0085@example.com',
    'alice\t@example.com',
    'alice\u2028@example.com',
  ]) {
    const m = identityHeaderMutations({
      requestHeaders: { 'x-gatehouse-email': 'root@example.com' },
      names: NAMES,
      identity: { ...IDENTITY, email },
      assertion: 'a.b.c',
      sessionCookieNames: [],
    });
    assert.ok(!m.set.some(([n]) => n === 'x-gatehouse-email'), JSON.stringify(email));
    assert.ok(m.remove.includes('x-gatehouse-email'), JSON.stringify(email));
  }
});

test('cookies: a rewritten cookie header that cannot be written is removed whole, never left with the session in it', () => {
  const m = identityHeaderMutations({
    requestHeaders: { cookie: '__Host-gatehouse=SESSION; a=x\ty' },
    names: NAMES,
    sessionCookieNames: GATEHOUSE_COOKIES,
  });
  assert.equal(m.cookie, null);
});

/**
 * The cookie step as it was before headers that cannot name Gatehouse's cookies skipped it: the
 * reference the shortcut must agree with (the result, or the error code).
 */
function cookieStepReference(header: string, ours: readonly string[]): string {
  let dropped = false;
  const kept = removeCookies(header, (name) => {
    const drop = ours.includes(name);
    dropped ||= drop;
    return drop;
  });
  if (kept !== undefined && mentionsCookie(kept, ours)) return 'ERR_COOKIE_AMBIGUOUS';
  if (!dropped) return 'unchanged';
  if (kept !== undefined && hasControlCharacter(kept)) return 'null';
  return JSON.stringify(kept ?? null);
}

test('cookies: headers skipped because they cannot name our cookies get what the full parse gives', () => {
  let x = 0x1234567;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  // A configured name with a k and an i: the Kelvin sign lowercases to an ASCII k, İ to an i
  // and a combining dot, which a lenient upstream might still read as the name.
  for (const ours of [GATEHOUSE_COOKIES, ['__Host-gatehouse', 'kite']]) {
    const pieces = [
      '__Host-gatehouse',
      '__HOST-GATEHOUSE',
      '__host-Gatehouse-txn',
      '__Host-gatehouse-txn',
      '__Host-gate',
      'house',
      'kite',
      'KITE',
      '\u212aite',
      'k\u0130te',
      'app',
      '=',
      '=v',
      ';',
      '; ',
      ',',
      ' ',
      '"',
      '\u212a',
      '\u0130',
      'é',
    ];
    let skipped = 0;
    for (let i = 0; i < 20_000; i++) {
      const header = Array.from(
        { length: 1 + Math.floor(next() * 10) },
        () => pieces[Math.floor(next() * pieces.length)],
      ).join('');
      let got: string;
      try {
        const out = identityHeaderMutations({
          requestHeaders: { cookie: header },
          names: NAMES,
          sessionCookieNames: ours,
        });
        got =
          out.cookie === undefined
            ? 'unchanged'
            : out.cookie === null
              ? 'null'
              : JSON.stringify(out.cookie);
      } catch (err) {
        got = (err as { code?: string }).code ?? String(err);
      }
      assert.equal(got, cookieStepReference(header, ours), `cookie: ${header}`);
      if (!/gatehouse|kite/i.test(header) && /^[\x00-\x7f]*$/.test(header)) skipped++;
    }
    assert.ok(skipped > 1_000, `headers that take the shortcut: ${skipped}`);
  }
});

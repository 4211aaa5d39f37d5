/**
 * src/identity/bearer/claims.ts reads a token's JSON segments and validates an access token's
 * claims in place of jose's `decodeProtectedHeader` and `UnsecuredJWT.decode`. Differential test:
 * on hand-picked hostile segments and on thousands of generated claim sets, the outcome (the
 * decoded object, or the error's class, message and claim) is exactly jose's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeProtectedHeader, errors, UnsecuredJWT } from 'jose';
import {
  protectedHeader,
  segmentObject,
  validateAccessClaims,
} from '../../../../src/identity/bearer/claims.js';
import { prng } from '../../../support/random-check-request.js';

const ISSUER = 'https://idp.example.test';
const AUDIENCES = ['api://orders', 'api://billing'];
const NOW = new Date('2026-06-01T00:00:00.750Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const NONE = Buffer.from('{"alg":"none"}').toString('base64url');

const b64 = (bytes: Buffer | string) => Buffer.from(bytes).toString('base64url');

/** Segments jose must be matched on: encodings, UTF-8, JSON shapes. */
const SEGMENTS: Record<string, string> = {
  'plain object': b64('{"alg":"RS256","kid":"k1"}'),
  'whitespace around': b64(' \n{"alg":"RS256"}\t '),
  'leading BOM': b64(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')])),
  'BOM inside a string': b64(
    Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('"}')]),
  ),
  'two BOMs': b64(
    Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]), Buffer.from('{}')]),
  ),
  'U+F000 first': b64(Buffer.concat([Buffer.from([0xef, 0x80, 0x80]), Buffer.from('{}')])),
  'non-ASCII value': b64('{"name":"Zoë 🦊"}'),
  'overlong slash': b64(Buffer.from([0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d])),
  'lone surrogate (CESU)': b64(
    Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]),
  ),
  'truncated sequence': b64(
    Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xe2, 0x82]), Buffer.from('"}')]),
  ),
  'beyond U+10FFFF': b64(
    Buffer.concat([
      Buffer.from('{"a":"'),
      Buffer.from([0xf4, 0x90, 0x80, 0x80]),
      Buffer.from('"}'),
    ]),
  ),
  'latin-1 byte': b64(Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d])),
  'NUL in a string': b64('{"a":"\\u0000"}'),
  'raw NUL': b64(Buffer.from([0x7b, 0x00, 0x7d])),
  array: b64('[1,2,3]'),
  string: b64('"text"'),
  number: b64('42'),
  null: b64('null'),
  'not JSON': b64('{alg:RS256}'),
  'trailing garbage': b64('{"a":1}x'),
  'empty object': b64('{}'),
  'own __proto__': b64('{"__proto__":{"admin":true},"a":1}'),
  'duplicate keys': b64('{"a":1,"a":2}'),
  'huge number': b64('{"a":1e400}'),
  'deep nesting': b64(`${'{"a":'.repeat(200)}1${'}'.repeat(200)}`),
  // Nine bytes are twelve characters: a thirteenth is no base64, though Buffer would skip it.
  '4n+1 characters': `${b64('{"ab":12}')}A`,
  'non-canonical trailing bits': `${b64('{"a":1}').slice(0, -1)}B`,
  'one character': 'e',
  'five characters': 'eyJhI',
};

/** jose's outcome or ours: the value, or the error's class, message and claim. */
function outcome(fn: () => unknown): unknown {
  try {
    return { value: fn() };
  } catch (err) {
    const e = err as Error & { claim?: string; code?: string };
    return { error: e.constructor.name, message: e.message, claim: e.claim, code: e.code };
  }
}

test('claims: a protected header decodes exactly as jose’s decodeProtectedHeader', () => {
  let decoded = 0;
  for (const [name, segment] of Object.entries(SEGMENTS)) {
    const token = `${segment}.e30.c2ln`;
    const expected = outcome(() => decodeProtectedHeader(token));
    assert.deepEqual(
      outcome(() => protectedHeader(token)),
      expected,
      name,
    );
    if ((expected as { value?: unknown }).value !== undefined) decoded++;
  }
  // Both outcomes occur (a corpus of refusals only would prove nothing).
  assert.ok(decoded >= 10 && decoded <= Object.keys(SEGMENTS).length - 10, `${decoded} decoded`);
});

test('claims: a payload segment is refused or read exactly as jose’s UnsecuredJWT.decode', () => {
  for (const [name, segment] of Object.entries(SEGMENTS)) {
    const jose = outcome(() => UnsecuredJWT.decode(`${NONE}.${segment}.`, {}).payload);
    const ours = segmentObject(segment);
    if (ours === undefined) assert.ok('error' in (jose as object), `${name}: jose accepted it`);
    else assert.deepEqual({ value: ours }, jose, name);
    // And with the verifier's options: the same error, message and claim.
    assert.deepEqual(
      outcome(() =>
        validateAccessClaims(segment, {
          issuer: ISSUER,
          audience: AUDIENCES,
          clockTolerance: 30,
          currentDate: NOW,
        }),
      ),
      outcome(
        () =>
          UnsecuredJWT.decode(`${NONE}.${segment}.`, {
            issuer: ISSUER,
            audience: AUDIENCES,
            requiredClaims: ['sub', 'iat', 'exp'],
            clockTolerance: 30,
            currentDate: NOW,
          }).payload,
      ),
      name,
    );
  }
});

const ABSENT = Symbol('absent');
const pick = <T>(next: () => number, values: readonly T[]): T =>
  values[Math.floor(next() * values.length)] as T;

/** Values for each claim, near every boundary jose draws (tolerance 30 s below). */
const CHOICES: Record<string, readonly unknown[]> = {
  iss: [
    ISSUER,
    ISSUER,
    ISSUER,
    `${ISSUER}/`,
    'https://evil.example',
    '',
    null,
    7,
    [ISSUER],
    ABSENT,
  ],
  aud: [
    'api://orders',
    'api://billing',
    ['api://other', 'api://billing'],
    ['api://other'],
    [],
    [null, 'api://orders'],
    [7],
    'api://other',
    null,
    7,
    { 0: 'api://orders' },
    ABSENT,
  ],
  sub: ['alice', '', 7, null, ABSENT],
  iat: [
    NOW_S - 60,
    NOW_S + 3600,
    NOW_S - 0.5,
    0,
    -1,
    '1700000000',
    null,
    true,
    Number.POSITIVE_INFINITY,
    ABSENT,
  ],
  nbf: [
    ABSENT,
    ABSENT,
    NOW_S,
    NOW_S + 30,
    NOW_S + 31,
    NOW_S + 30.5,
    '0',
    null,
    Number.NEGATIVE_INFINITY,
  ],
  exp: [
    NOW_S + 600,
    NOW_S - 30,
    NOW_S - 29,
    NOW_S - 30.5,
    NOW_S - 29.5,
    NOW_S,
    '9999999999',
    null,
    Number.POSITIVE_INFINITY,
    ABSENT,
  ],
};

function claimSet(next: () => number): string {
  const claims: Record<string, unknown> = { jti: 'j', scope: 'orders:read' };
  for (const [claim, values] of Object.entries(CHOICES)) {
    const value = pick(next, values);
    if (value !== ABSENT) claims[claim] = value;
  }
  // JSON.stringify writes an infinity as null: put 1e400 (which JSON.parse reads as one) in.
  return JSON.stringify(claims, (_k, v: unknown) =>
    v === Infinity ? 'INF' : v === -Infinity ? '-INF' : v,
  )
    .replaceAll('"INF"', '1e400')
    .replaceAll('"-INF"', '-1e400');
}

test('claims: thousands of generated claim sets get jose’s verdict, message and claim', () => {
  const next = prng(20261202);
  const counts = new Map<string, number>();
  for (let i = 0; i < 6000; i++) {
    const json = claimSet(next);
    const tolerance = pick(next, [0, 30, 30, 0.5]);
    const segment = b64(json);
    const expected = outcome(
      () =>
        UnsecuredJWT.decode(`${NONE}.${segment}.`, {
          issuer: ISSUER,
          audience: AUDIENCES,
          requiredClaims: ['sub', 'iat', 'exp'],
          clockTolerance: tolerance,
          currentDate: NOW,
        }).payload,
    );
    const ours = outcome(() =>
      validateAccessClaims(segment, {
        issuer: ISSUER,
        audience: AUDIENCES,
        clockTolerance: tolerance,
        currentDate: NOW,
      }),
    );
    assert.deepEqual(ours, expected, `${json} (tolerance ${tolerance})`);
    const kind =
      'value' in (expected as object)
        ? 'accepted'
        : String((expected as { message: string }).message);
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  // Every rule was reached, accepted included.
  for (const kind of [
    'accepted',
    'missing required "iss" claim',
    'missing required "aud" claim',
    'missing required "exp" claim',
    'missing required "iat" claim',
    'missing required "sub" claim',
    'unexpected "iss" claim value',
    'unexpected "aud" claim value',
    '"iat" claim must be a number',
    '"nbf" claim must be a number',
    '"nbf" claim timestamp check failed',
    '"exp" claim must be a number',
    '"exp" claim timestamp check failed',
  ])
    assert.ok((counts.get(kind) ?? 0) > 0, `never reached: ${kind}`);
});

test('claims: an expired token’s error carries the payload, as jose’s JWTExpired does', () => {
  const segment = b64(
    JSON.stringify({ iss: ISSUER, aud: 'api://orders', sub: 'a', iat: 1, exp: NOW_S - 31 }),
  );
  const options = { issuer: ISSUER, audience: AUDIENCES, clockTolerance: 30, currentDate: NOW };
  assert.throws(
    () => validateAccessClaims(segment, options),
    (err: unknown) =>
      err instanceof errors.JWTExpired &&
      err.claim === 'exp' &&
      (err.payload as { sub?: string }).sub === 'a',
  );
});

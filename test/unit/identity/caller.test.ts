/** Who is asking: each resolution maps to exactly one Caller case; what fits none is refused. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatehouseError } from '../../../src/errors/gatehouse-error.js';
import { type Caller, callerOf, sessionOf } from '../../../src/identity/caller.js';
import type { ResolvedIdentity } from '../../../src/identity/resolve.js';
import { ANONYMOUS } from '../../../src/input/types.js';
import { ALICE, ROBOT, SESSION } from '../check/support.js';

const expired = new GatehouseError('ERR_SESSION_EXPIRED');
const invalid = new GatehouseError('ERR_SESSION_INVALID');
const badToken = new GatehouseError('ERR_TOKEN_INVALID');

const CASES: readonly [string, ResolvedIdentity, Caller][] = [
  [
    'no credential',
    { identity: ANONYMOUS, source: 'none' },
    { kind: 'anonymous', identity: ANONYMOUS },
  ],
  [
    'a verified bearer token',
    { identity: ROBOT, source: 'bearer', credential: 'k1' },
    { kind: 'bearer', identity: ROBOT, credential: 'k1' },
  ],
  [
    'a verified bearer token, no cache',
    { identity: ROBOT, source: 'bearer' },
    { kind: 'bearer', identity: ROBOT, credential: undefined },
  ],
  [
    'a refused bearer token',
    { identity: ANONYMOUS, source: 'bearer', error: badToken },
    { kind: 'refused', identity: ANONYMOUS, presented: 'bearer', error: badToken },
  ],
  [
    'a live session',
    {
      identity: ALICE,
      source: 'session',
      session: { data: SESSION, expired: false },
      credential: 'k2',
    },
    { kind: 'session', identity: ALICE, session: SESSION, credential: 'k2' },
  ],
  [
    'an authentic, expired session',
    {
      identity: ANONYMOUS,
      source: 'session',
      error: expired,
      session: { data: SESSION, expired: true },
    },
    { kind: 'expired-session', identity: ANONYMOUS, session: SESSION, error: expired },
  ],
  [
    'a refused session cookie',
    { identity: ANONYMOUS, source: 'session', error: invalid },
    { kind: 'refused', identity: ANONYMOUS, presented: 'session', error: invalid },
  ],
];

for (const [name, resolved, caller] of CASES) {
  test(`caller: ${name} → ${caller.kind}`, () => {
    assert.deepEqual(callerOf(resolved), caller);
  });
}

test('caller: a resolution that fits no case is refused (fail closed), never trusted', () => {
  for (const resolved of [
    // Authenticated by "session" without the session behind it.
    { identity: ALICE, source: 'session' },
    // Authenticated, but from an expired session.
    { identity: ALICE, source: 'session', session: { data: SESSION, expired: true } },
    // Anonymous from a presented credential, with no reason given.
    { identity: ANONYMOUS, source: 'bearer' },
  ] satisfies ResolvedIdentity[]) {
    const caller = callerOf(resolved);
    assert.equal(caller.kind, 'refused');
    assert.equal(caller.identity.authenticated, false);
    assert.equal(caller.kind === 'refused' ? caller.error.code : '', 'ERR_INTERNAL');
  }
});

test('caller: sign-out sees the session of a live or expired session caller only', () => {
  assert.equal(
    sessionOf({ kind: 'session', identity: ALICE, session: SESSION, credential: undefined }),
    SESSION,
  );
  assert.equal(
    sessionOf({ kind: 'expired-session', identity: ANONYMOUS, session: SESSION, error: expired }),
    SESSION,
  );
  assert.equal(sessionOf({ kind: 'bearer', identity: ROBOT, credential: undefined }), undefined);
  assert.equal(sessionOf({ kind: 'anonymous', identity: ANONYMOUS }), undefined);
});

/**
 * The step-up callback's own checks on the new ID token (issue 15), one named test per attack.
 * The same cases run against the real oidc-provider in test/integration/oidc/step-up.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkStepUp, type IdTokenClaims } from '../../../src/oidc/callback.js';
import { stepUpParams } from '../../../src/oidc/sign-in.js';
import { GatehouseError } from '../../../src/errors/gatehouse-error.js';

const NOW = new Date('2026-12-01T12:00:00Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);

function token(extra: Record<string, unknown>): IdTokenClaims {
  return { iss: 'https://idp', sub: 'alice', aud: 'gh', iat: NOW_S, exp: NOW_S + 60, ...extra };
}

function refusedWith(code: string, run: () => void): void {
  assert.throws(run, (err: unknown) => err instanceof GatehouseError && err.code === code);
}

test('hostile: an ID token without auth_time after max_age was sent is refused', () => {
  refusedWith('ERR_STEP_UP_NOT_SATISFIED', () =>
    checkStepUp({ maxAge: 300, sub: 'alice' }, token({}), NOW),
  );
});

test('hostile: an ID token with an auth_time older than max_age is refused', () => {
  refusedWith('ERR_STEP_UP_NOT_SATISFIED', () =>
    checkStepUp({ maxAge: 300, sub: 'alice' }, token({ auth_time: NOW_S - 3600 }), NOW),
  );
  checkStepUp({ maxAge: 300, sub: 'alice' }, token({ auth_time: NOW_S - 5 }), NOW);
});

test('hostile: an ID token whose acr is not among those requested is refused', () => {
  const stepUp = { acrValues: ['urn:gatehouse:mfa'], sub: 'alice' };
  refusedWith('ERR_STEP_UP_NOT_SATISFIED', () =>
    checkStepUp(stepUp, token({ acr: 'urn:gatehouse:pwd' }), NOW),
  );
  refusedWith('ERR_STEP_UP_NOT_SATISFIED', () => checkStepUp(stepUp, token({}), NOW));
  checkStepUp(stepUp, token({ acr: 'urn:gatehouse:mfa' }), NOW);
});

test('hostile: a step-up cannot swap to another user (sub must stay the same)', () => {
  refusedWith('ERR_STEP_UP_USER_CHANGED', () =>
    checkStepUp(
      { acrValues: ['urn:gatehouse:mfa'], sub: 'alice' },
      token({ sub: 'mallory', acr: 'urn:gatehouse:mfa' }),
      NOW,
    ),
  );
});

test('a step-up without a signed-in user (anonymous) accepts whoever signs in', () => {
  checkStepUp({ acrValues: ['mfa'] }, token({ sub: 'bob', acr: 'mfa' }), NOW);
});

test('authorization parameters: max_age, acr_values, and prompt=login where needed', () => {
  assert.deepEqual(stepUpParams({ maxAge: 300 }), { max_age: '300' });
  assert.deepEqual(stepUpParams({ maxAge: 0 }), { max_age: '0', prompt: 'login' });
  assert.deepEqual(stepUpParams({ acrValues: ['a', 'b'] }), { acr_values: 'a b', prompt: 'login' });
});

/**
 * Step-up (issue 15): the decision fields `max_auth_age_seconds` and `acr_values`, validated like
 * every other field, and the one comparison the Check, the 401 and the callback share.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeDecision } from '../../../src/decision/normalize.js';
import {
  describe,
  shortfalls,
  STEP_UP_LEEWAY_SECONDS,
  stepUpChallenge,
} from '../../../src/decision/step-up.js';
import { GatehouseError } from '../../../src/errors/gatehouse-error.js';
import { isEnvoyHttpStatus } from '../../../src/response/check-response.js';

const normalize = (value: unknown) => normalizeDecision(value, isEnvoyHttpStatus);
const NOW = 1_800_000_000;

test('step-up fields: read on an allow, frozen, absent when not asked', () => {
  const d = normalize({
    allowed: true,
    max_auth_age_seconds: 300,
    acr_values: ['urn:gatehouse:mfa', 'urn:gatehouse:hwk'],
  });
  assert.deepEqual(d.stepUp, {
    maxAuthAgeSeconds: 300,
    acrValues: ['urn:gatehouse:mfa', 'urn:gatehouse:hwk'],
  });
  assert.ok(Object.isFrozen(d.stepUp));
  assert.deepEqual(normalize({ allowed: true, max_auth_age_seconds: 0 }).stepUp, {
    maxAuthAgeSeconds: 0,
    acrValues: undefined,
  });
  assert.deepEqual(normalize({ allowed: true, acr_values: ['mfa'] }).stepUp, {
    maxAuthAgeSeconds: undefined,
    acrValues: ['mfa'],
  });
  assert.equal(normalize({ allowed: true }).stepUp, undefined);
  assert.equal(normalize(true).stepUp, undefined);
});

test('step-up fields: ignored on a deny, like the other allow-only fields', () => {
  assert.equal(normalize({ allowed: false, max_auth_age_seconds: 'soon' }).stepUp, undefined);
  assert.equal(normalize({ allowed: false, acr_values: [1] }).stepUp, undefined);
});

test('step-up fields: a malformed value is ERR_DECISION_INVALID, never ignored', () => {
  const bad: unknown[] = [
    { max_auth_age_seconds: -1 },
    { max_auth_age_seconds: 1.5 },
    { max_auth_age_seconds: '300' },
    { max_auth_age_seconds: null },
    { max_auth_age_seconds: 31_536_001 },
    { acr_values: 'urn:gatehouse:mfa' },
    { acr_values: [] },
    { acr_values: [''] },
    { acr_values: ['two words'] },
    { acr_values: ['quo"te'] },
    { acr_values: ['back\\slash'] },
    { acr_values: ['new\nline'] },
    { acr_values: [42] },
    { acr_values: Array.from({ length: 17 }, (_, i) => `acr${i}`) },
  ];
  for (const fields of bad) {
    assert.throws(
      () => normalize({ allowed: true, ...(fields as object) }),
      (err: unknown) => err instanceof GatehouseError && err.code === 'ERR_DECISION_INVALID',
      JSON.stringify(fields),
    );
  }
});

test('max age: the boundary is max_auth_age_seconds plus the leeway, inclusive', () => {
  const stepUp = { maxAuthAgeSeconds: 300, acrValues: undefined };
  const limit = 300 + STEP_UP_LEEWAY_SECONDS;
  assert.deepEqual(shortfalls(stepUp, { auth_time: NOW - limit }, NOW), []);
  assert.deepEqual(shortfalls(stepUp, { auth_time: NOW - limit - 1 }, NOW), ['auth_time_too_old']);
  assert.deepEqual(shortfalls(stepUp, { auth_time: NOW }, NOW), []);
  // An IdP clock a little ahead: an auth_time in the future is fresh.
  assert.deepEqual(shortfalls(stepUp, { auth_time: NOW + 5 }, NOW), []);
  // max_auth_age_seconds 0: only the leeway.
  const zero = { maxAuthAgeSeconds: 0, acrValues: undefined };
  assert.deepEqual(shortfalls(zero, { auth_time: NOW - STEP_UP_LEEWAY_SECONDS }, NOW), []);
  assert.deepEqual(shortfalls(zero, { auth_time: NOW - STEP_UP_LEEWAY_SECONDS - 1 }, NOW), [
    'auth_time_too_old',
  ]);
});

test('max age: no auth_time fails closed', () => {
  const stepUp = { maxAuthAgeSeconds: 86_400, acrValues: undefined };
  assert.deepEqual(shortfalls(stepUp, {}, NOW), ['auth_time_missing']);
  assert.deepEqual(shortfalls(stepUp, { auth_time: Number.NaN }, NOW), ['auth_time_missing']);
});

test('max age: an auth_time in the future (beyond the leeway) is no evidence: missing', () => {
  const stepUp = { maxAuthAgeSeconds: 300, acrValues: undefined };
  assert.deepEqual(shortfalls(stepUp, { auth_time: NOW + STEP_UP_LEEWAY_SECONDS }, NOW), []);
  assert.deepEqual(shortfalls(stepUp, { auth_time: NOW + STEP_UP_LEEWAY_SECONDS + 1 }, NOW), [
    'auth_time_missing',
  ]);
  assert.deepEqual(shortfalls(stepUp, { auth_time: NOW + 10 * 365 * 86400 }, NOW), [
    'auth_time_missing',
  ]);
});

test('acr: any of the values asked; none, or another, fails closed', () => {
  const stepUp = { maxAuthAgeSeconds: undefined, acrValues: ['mfa', 'hwk'] };
  assert.deepEqual(shortfalls(stepUp, { acr: 'mfa' }, NOW), []);
  assert.deepEqual(shortfalls(stepUp, { acr: 'hwk' }, NOW), []);
  assert.deepEqual(shortfalls(stepUp, { acr: 'pwd' }, NOW), ['acr_not_allowed']);
  assert.deepEqual(shortfalls(stepUp, { acr: 'MFA' }, NOW), ['acr_not_allowed'], 'exact match');
  assert.deepEqual(shortfalls(stepUp, {}, NOW), ['acr_missing']);
  // No requirement on what was not asked: an auth_time is not needed for an acr-only step-up.
  assert.deepEqual(shortfalls(stepUp, { acr: 'mfa' }, NOW), []);
});

test('both: every shortfall is named', () => {
  const stepUp = { maxAuthAgeSeconds: 60, acrValues: ['mfa'] };
  assert.deepEqual(shortfalls(stepUp, { auth_time: NOW - 3600, acr: 'pwd' }, NOW), [
    'auth_time_too_old',
    'acr_not_allowed',
  ]);
  assert.deepEqual(shortfalls(stepUp, { auth_time: NOW, acr: 'mfa' }, NOW), []);
});

test('RFC 9470 challenge: error, description, acr_values (space separated) and max_age', () => {
  assert.equal(
    stepUpChallenge({ maxAuthAgeSeconds: 300, acrValues: ['mfa', 'hwk'] }, ['acr_not_allowed']),
    'Bearer error="insufficient_user_authentication", error_description="A stronger authentication level is required", acr_values="mfa hwk", max_age=300',
  );
  assert.equal(
    stepUpChallenge({ maxAuthAgeSeconds: 0, acrValues: undefined }, ['auth_time_missing']),
    'Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required", max_age=0',
  );
  assert.equal(
    describe(['auth_time_too_old', 'acr_missing']),
    'A more recent and stronger authentication is required',
  );
});

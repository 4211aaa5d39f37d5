/**
 * Step-up on the Check path (issue 15): an allow with `max_auth_age_seconds` / `acr_values` the
 * caller does not meet is not an allow. A browser navigation is sent to the IdP with the
 * requirement (and who is stepping up); an API request or a bearer token gets the RFC 9470 401.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCheckHandler } from '../../../src/check/handle.js';
import type { Caller } from '../../../src/identity/caller.js';
import type { AuthenticatedIdentity } from '../../../src/input/types.js';
import { createLogger } from '../../../src/log/logger.js';
import type { CheckResponse } from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import {
  ALICE,
  API,
  CALLERS,
  fakePolicy,
  fakeRuntime,
  IDP_AUTH,
  NAV,
  request,
  ROBOT,
  SESSION,
} from './support.js';

const SILENT = createLogger({ level: 'silent' });
const now = () => Math.floor(Date.now() / 1000);

function sessionCaller(identity: AuthenticatedIdentity): Caller {
  return { kind: 'session', identity, session: SESSION, credential: undefined };
}

function bearerCaller(identity: AuthenticatedIdentity): Caller {
  return { kind: 'bearer', identity, credential: undefined };
}

async function check(caller: Caller, policy: unknown, headers: Record<string, string>) {
  const runtime = fakeRuntime({ caller });
  const outcome = await createCheckHandler({
    policy: () => fakePolicy(policy),
    identity: runtime,
    log: SILENT,
  })(request('/admin?x=1', headers));
  return { outcome, calls: runtime.calls };
}

function status(response: CheckResponse): number {
  const r = response.httpResponse;
  if (r.case === 'okResponse') return 200;
  return r.case === 'deniedResponse' ? (r.value.status?.code ?? 403) : 0;
}

function header(response: CheckResponse, name: string): string | undefined {
  const r = response.httpResponse;
  if (r.case !== 'deniedResponse') return undefined;
  return r.value.headers.find((h) => h.header?.key.toLowerCase() === name)?.header?.value;
}

const MFA = { allowed: true, acr_values: ['urn:gatehouse:mfa'] };
const FRESH = { allowed: true, max_auth_age_seconds: 300 };

test('step-up met: the allow stands', async () => {
  const fresh = { ...ALICE, auth_time: now() - 10, acr: 'urn:gatehouse:mfa' };
  for (const policy of [MFA, FRESH, { ...MFA, ...FRESH }]) {
    const { outcome, calls } = await check(sessionCaller(fresh), policy, NAV);
    assert.equal(status(outcome.response), 200, JSON.stringify(policy));
    assert.deepEqual(calls.started, []);
  }
});

test('step-up unmet, browser navigation with a session: to the IdP, same URL, same user', async () => {
  const old = { ...ALICE, auth_time: now() - 3600, acr: 'urn:gatehouse:pwd' };
  const { outcome, calls } = await check(sessionCaller(old), { ...MFA, ...FRESH }, NAV);
  assert.equal(status(outcome.response), 302);
  assert.equal(header(outcome.response, 'location'), IDP_AUTH);
  assert.equal(outcome.handledBy, 'sign-in');
  assert.deepEqual(calls.started, ['/admin?x=1'], 'the return URL is the original one');
  assert.deepEqual(calls.stepUps, [
    {
      stepUp: { maxAuthAgeSeconds: 300, acrValues: ['urn:gatehouse:mfa'] },
      sub: 'alice',
    },
  ]);
  assert.deepEqual(calls.assertions, [], 'nothing was signed for the upstream');
});

test('step-up unmet, absent claims fail closed: a session without auth_time or acr', async () => {
  for (const policy of [MFA, FRESH]) {
    const { outcome, calls } = await check(sessionCaller(ALICE), policy, NAV);
    assert.equal(status(outcome.response), 302, JSON.stringify(policy));
    assert.equal(calls.stepUps.length, 1);
  }
});

test('step-up unmet, API request with a session: 401 with the RFC 9470 challenge', async () => {
  const old = { ...ALICE, auth_time: now() - 3600 };
  const { outcome, calls } = await check(sessionCaller(old), FRESH, API);
  assert.equal(status(outcome.response), 401);
  assert.deepEqual(calls.started, []);
  assert.equal(
    header(outcome.response, 'www-authenticate'),
    'Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required", max_age=300',
  );
  const r = outcome.response.httpResponse;
  assert.equal(r.case, 'deniedResponse');
  const body = JSON.parse(r.case === 'deniedResponse' ? r.value.body : '{}') as Record<
    string,
    unknown
  >;
  assert.equal(body['error'], 'ERR_STEP_UP_REQUIRED');
});

test('step-up unmet, bearer token: 401 challenge even for a browser-like request', async () => {
  const robot = { ...ROBOT, acr: 'urn:gatehouse:pwd' };
  const { outcome, calls } = await check(bearerCaller(robot), MFA, NAV);
  assert.equal(status(outcome.response), 401);
  assert.deepEqual(calls.started, [], 'a bearer caller is never sent to sign in');
  assert.equal(
    header(outcome.response, 'www-authenticate'),
    'Bearer error="insufficient_user_authentication", error_description="A stronger authentication level is required", acr_values="urn:gatehouse:mfa"',
  );
});

test('step-up met by a bearer token: allowed', async () => {
  const robot = { ...ROBOT, acr: 'urn:gatehouse:mfa', auth_time: now() };
  const { outcome } = await check(bearerCaller(robot), { ...MFA, ...FRESH }, API);
  assert.equal(status(outcome.response), 200);
});

test('step-up on an allow for an anonymous browser: a sign-in that asks for it', async () => {
  const { outcome, calls } = await check(CALLERS.anonymous, MFA, NAV);
  assert.equal(status(outcome.response), 302);
  assert.deepEqual(calls.stepUps, [
    { stepUp: { maxAuthAgeSeconds: undefined, acrValues: ['urn:gatehouse:mfa'] }, sub: undefined },
  ]);
});

test('a deny with step-up fields stays a plain deny', async () => {
  const { outcome, calls } = await check(sessionCaller(ALICE), { ...MFA, allowed: false }, NAV);
  assert.equal(status(outcome.response), 403);
  assert.deepEqual(calls.started, []);
});

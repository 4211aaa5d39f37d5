/**
 * The Check stage on its own (issue 14): the handler's orchestration — who is asking, reserved
 * paths, the policy, the response — driven with a fake policy and a fake identity runtime. One
 * table of cases; each names the status, who answered, the error code and what the browser and
 * upstream are told. No `opa`, no server: these run in milliseconds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anonymousRuntime } from '../../../src/identity/anonymous.js';
import {
  type CheckOutcome,
  createCheckHandler,
  type PolicyView,
} from '../../../src/check/handle.js';
import type { IdentityRuntime } from '../../../src/identity/runtime.js';
import type { DecisionResult } from '../../../src/check/result.js';
import { decisionResult } from '../../../src/check/result.js';
import { GatehouseError } from '../../../src/errors/gatehouse-error.js';
import type { HeaderValueOption } from '../../../src/gen/envoy/config/core/v3/base_pb.js';
import type { CheckResponse } from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import type { Caller } from '../../../src/identity/caller.js';
import { createLogger } from '../../../src/log/logger.js';
import {
  API,
  CALLERS,
  type FakeRuntimeOptions,
  fakePolicy,
  fakeRuntime,
  IDP_AUTH,
  NAV,
  recordingObserver,
  request,
  SESSION,
} from './support.js';

const ALLOW = { allowed: true };
const DENY = { allowed: false, reasons: ['staff only'] };
const SILENT = createLogger({ level: 'silent' });

interface Case {
  readonly name: string;
  readonly path?: string;
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly caller: Caller | (() => Promise<Caller>);
  /** The entrypoint's value (an Error is thrown by evaluate); `NO_POLICY` when none is loaded. */
  readonly policy: unknown;
  /** Fake runtime options, or `'off'` for the runtime without identity (anonymousRuntime). */
  readonly runtime?: Omit<FakeRuntimeOptions, 'caller'> | 'off';
  readonly expect: {
    readonly status: number;
    readonly handledBy: CheckOutcome['handledBy'];
    readonly result: DecisionResult;
    /** The Check's error code (`x-gatehouse-error`), when it failed. */
    readonly code?: string;
    /** The refused or expired credential's code, as told to the observer. */
    readonly identityError?: string;
    readonly location?: string;
    /** Every `set-cookie` the browser gets, in order. */
    readonly setCookies?: readonly string[];
    readonly challenge?: string;
    /** The JSON body's `error` (the 401's). */
    readonly bodyError?: string;
    /** `x-gatehouse-user` sent upstream on allow. */
    readonly upstreamUser?: string;
    /** The credential the assertion was asked for (`null`: asked without one). */
    readonly assertionCredential?: string | null;
    /** Whether the policy was evaluated. */
    readonly evaluated: boolean;
    /** The policy revision told to the observer. */
    readonly revision?: string;
    readonly refreshes?: number;
    /** Whether the input reached the outcome (for `gatehouse check`). */
    readonly input?: boolean;
  };
}

const NO_POLICY = Symbol('no policy');

const CASES: readonly Case[] = [
  {
    name: 'allow, anonymous: forwarded, no identity headers',
    caller: CALLERS.anonymous,
    policy: ALLOW,
    expect: { status: 200, handledBy: 'policy', result: 'allowed', evaluated: true, input: true },
  },
  {
    name: 'allow, session: identity headers and an assertion keyed on the session credential',
    caller: CALLERS.session,
    policy: ALLOW,
    expect: {
      status: 200,
      handledBy: 'policy',
      result: 'allowed',
      upstreamUser: 'alice',
      assertionCredential: 'cred-session',
      evaluated: true,
      revision: 'rev-1',
      setCookies: [],
    },
  },
  {
    name: 'allow, bearer: identity headers and an assertion keyed on the token',
    caller: CALLERS.bearer,
    policy: ALLOW,
    expect: {
      status: 200,
      handledBy: 'policy',
      result: 'allowed',
      upstreamUser: 'robot',
      assertionCredential: 'cred-bearer',
      evaluated: true,
    },
  },
  {
    name: 'deny, anonymous browser: redirect to sign-in, back to the same path',
    path: '/app/x?q=1',
    headers: NAV,
    caller: CALLERS.anonymous,
    policy: DENY,
    expect: {
      status: 302,
      handledBy: 'sign-in',
      result: 'denied',
      location: IDP_AUTH,
      setCookies: ['txn=1'],
      evaluated: true,
    },
  },
  {
    name: 'deny, anonymous API client: 401 with a Bearer challenge, never a redirect',
    headers: API,
    caller: CALLERS.anonymous,
    policy: DENY,
    expect: {
      status: 401,
      handledBy: 'sign-in',
      result: 'denied',
      challenge: 'Bearer realm="app.example.test"',
      bodyError: 'ERR_UNAUTHENTICATED',
      evaluated: true,
    },
  },
  {
    name: 'deny, refused bearer token in a browser: 401 invalid_token naming the code, no redirect',
    headers: NAV,
    caller: CALLERS.refusedBearer,
    policy: DENY,
    expect: {
      status: 401,
      handledBy: 'sign-in',
      result: 'denied',
      challenge: 'Bearer realm="app.example.test", error="invalid_token"',
      bodyError: 'ERR_TOKEN_EXPIRED',
      identityError: 'ERR_TOKEN_EXPIRED',
      setCookies: [],
      evaluated: true,
    },
  },
  {
    name: 'deny, refused session cookie: the cookie is cleared, the browser signs in',
    headers: NAV,
    caller: CALLERS.refusedSession,
    policy: DENY,
    expect: {
      status: 302,
      handledBy: 'sign-in',
      result: 'denied',
      location: IDP_AUTH,
      setCookies: ['txn=1', 'gh=; Max-Age=0'],
      identityError: 'ERR_SESSION_INVALID',
      evaluated: true,
    },
  },
  {
    name: 'deny, signed in: the 403 page',
    headers: API,
    caller: CALLERS.session,
    policy: DENY,
    expect: { status: 403, handledBy: 'policy', result: 'denied', evaluated: true },
  },
  {
    name: 'deny the policy shaped (its own status): sent as written, even to an anonymous browser',
    headers: NAV,
    caller: CALLERS.anonymous,
    policy: { allowed: false, http_status: 429 },
    expect: { status: 429, handledBy: 'policy', result: 'denied', evaluated: true },
  },
  {
    name: 'deny without identity configured: the plain 403, no sign-in',
    headers: NAV,
    caller: CALLERS.anonymous,
    policy: DENY,
    runtime: 'off',
    expect: { status: 403, handledBy: 'policy', result: 'denied', evaluated: true },
  },
  {
    name: 'expired session, refresh renews it: allowed as the renewed identity, new cookie, fresh assertion',
    headers: API,
    caller: CALLERS.expired,
    policy: ALLOW,
    runtime: { refresh: 'renewed' },
    expect: {
      status: 200,
      handledBy: 'policy',
      result: 'allowed',
      upstreamUser: 'alice',
      assertionCredential: null,
      setCookies: ['gh=renewed'],
      identityError: 'ERR_SESSION_EXPIRED',
      refreshes: 1,
      evaluated: true,
    },
  },
  {
    name: 'expired session, refresh fails: cookie cleared, the browser signs in again',
    headers: NAV,
    caller: CALLERS.expired,
    policy: DENY,
    runtime: { refresh: 'failed' },
    expect: {
      status: 302,
      handledBy: 'sign-in',
      result: 'denied',
      location: IDP_AUTH,
      setCookies: ['txn=1', 'gh=; Max-Age=0'],
      identityError: 'ERR_SESSION_EXPIRED',
      refreshes: 1,
      evaluated: true,
    },
  },
  {
    name: 'expired session without a sign-in flow: cookie cleared, 401',
    headers: API,
    caller: CALLERS.expired,
    policy: DENY,
    runtime: { signIn: false },
    expect: {
      status: 401,
      handledBy: 'sign-in',
      result: 'denied',
      bodyError: 'ERR_UNAUTHENTICATED',
      setCookies: ['gh=; Max-Age=0'],
      identityError: 'ERR_SESSION_EXPIRED',
      refreshes: 0,
      evaluated: true,
    },
  },
  {
    name: 'reserved path (who am I): answered by Gatehouse, the policy never runs',
    path: '/.gatehouse/',
    headers: API,
    caller: CALLERS.session,
    policy: DENY,
    expect: { status: 200, handledBy: 'reserved', result: 'reserved', evaluated: false },
  },
  {
    name: 'reserved path (who am I), anonymous API client: 401, the policy never runs',
    path: '/.gatehouse/',
    headers: API,
    caller: CALLERS.anonymous,
    policy: ALLOW,
    expect: {
      status: 401,
      handledBy: 'reserved',
      result: 'reserved',
      challenge: 'Bearer realm="app.example.test"',
      evaluated: false,
    },
  },
  {
    name: 'reserved path answered even with no policy loaded (the JWKS)',
    path: '/.well-known/gatehouse/jwks.json',
    caller: CALLERS.anonymous,
    policy: NO_POLICY,
    expect: { status: 200, handledBy: 'reserved', result: 'reserved', evaluated: false },
  },
  {
    name: 'reserved path without identity configured: 404, never forwarded',
    path: '/.gatehouse/sign_in',
    caller: CALLERS.anonymous,
    policy: ALLOW,
    runtime: 'off',
    expect: { status: 404, handledBy: 'reserved', result: 'reserved', evaluated: false },
  },
  {
    name: 'no policy loaded: ERR_POLICY_NOT_LOADED (503), fails closed, input kept',
    caller: CALLERS.session,
    policy: NO_POLICY,
    expect: {
      status: 503,
      handledBy: 'error',
      result: 'error',
      code: 'ERR_POLICY_NOT_LOADED',
      evaluated: false,
      input: true,
    },
  },
  {
    name: 'policy evaluation error: ERR_POLICY_EVAL (500), with the revision that failed',
    caller: CALLERS.anonymous,
    policy: new GatehouseError('ERR_POLICY_EVAL'),
    expect: {
      status: 500,
      handledBy: 'error',
      result: 'error',
      code: 'ERR_POLICY_EVAL',
      evaluated: true,
      revision: 'rev-1',
      input: true,
    },
  },
  {
    name: 'undefined decision: ERR_DECISION_UNDEFINED, denied',
    caller: CALLERS.anonymous,
    policy: undefined,
    expect: {
      status: 403,
      handledBy: 'error',
      result: 'error',
      code: 'ERR_DECISION_UNDEFINED',
      evaluated: true,
    },
  },
  {
    name: 'anything unforeseen (the identity runtime throws): ERR_INTERNAL, denied',
    caller: () => Promise.reject(new TypeError('boom')),
    policy: ALLOW,
    expect: {
      status: 500,
      handledBy: 'error',
      result: 'error',
      code: 'ERR_INTERNAL',
      evaluated: false,
    },
  },
  {
    name: 'sign-in cannot start (the IdP unreachable): ERR_OIDC_UNAVAILABLE, denied',
    headers: NAV,
    caller: CALLERS.anonymous,
    policy: DENY,
    runtime: { startFails: 'ERR_OIDC_UNAVAILABLE' },
    expect: {
      status: 503,
      handledBy: 'error',
      result: 'error',
      code: 'ERR_OIDC_UNAVAILABLE',
      evaluated: true,
      revision: 'rev-1',
    },
  },
];

function headersOf(response: CheckResponse): {
  status: number;
  /** Headers for the client (denied) or added to the client's response (allowed). */
  client: readonly HeaderValueOption[];
  upstream: readonly HeaderValueOption[];
  body: string;
} {
  const r = response.httpResponse;
  if (r.case === 'okResponse')
    return {
      status: 200,
      client: r.value.responseHeadersToAdd,
      upstream: r.value.headers,
      body: '',
    };
  if (r.case === 'deniedResponse')
    return {
      status: r.value.status?.code ?? 0,
      client: r.value.headers,
      upstream: [],
      body: r.value.body,
    };
  return { status: 0, client: [], upstream: [], body: '' };
}

const values = (headers: readonly HeaderValueOption[], name: string) =>
  headers.filter((h) => h.header?.key === name).map((h) => h.header?.value ?? '');

for (const c of CASES) {
  test(`check stage: ${c.name}`, async () => {
    const runtime: IdentityRuntime & Partial<ReturnType<typeof fakeRuntime>> =
      c.runtime === 'off'
        ? {
            ...anonymousRuntime(),
            resolve:
              typeof c.caller === 'function' ? c.caller : () => Promise.resolve(c.caller as Caller),
          }
        : fakeRuntime({ caller: c.caller, ...c.runtime });
    const policy = c.policy === NO_POLICY ? undefined : fakePolicy(c.policy);
    const observer = recordingObserver();
    const check = createCheckHandler({
      policy: (): PolicyView | undefined => policy,
      identity: runtime,
      log: SILENT,
      observer,
    });
    const outcome = await check(request(c.path ?? '/app', c.headers, c.method));
    const { expect } = c;
    const seen = headersOf(outcome.response);

    assert.equal(seen.status, expect.status);
    assert.equal(outcome.handledBy, expect.handledBy);
    assert.equal(decisionResult(outcome), expect.result);
    assert.equal(outcome.error?.code, expect.code);
    if (expect.code !== undefined)
      assert.deepEqual(values(seen.client, 'x-gatehouse-error'), [expect.code]);
    // Fail closed: only an allow is ever forwarded.
    assert.equal(outcome.response.httpResponse.case === 'okResponse', expect.result === 'allowed');

    assert.equal(observer.ended.length, 1, 'the observer is told once');
    const facts = observer.ended[0]?.facts;
    assert.equal(facts?.identityError?.code, expect.identityError);
    if (expect.revision !== undefined) assert.equal(facts?.revision, expect.revision);
    assert.equal(
      observer.evaluated.length,
      expect.evaluated ? 1 : 0,
      'evaluated through the observer',
    );
    assert.equal((policy?.inputs.length ?? 0) > 0, expect.evaluated);
    if (expect.input !== undefined) assert.equal(outcome.input !== undefined, expect.input);

    if (expect.location !== undefined)
      assert.deepEqual(values(seen.client, 'location'), [expect.location]);
    if (expect.setCookies !== undefined)
      assert.deepEqual(values(seen.client, 'set-cookie'), expect.setCookies);
    if (expect.challenge !== undefined)
      assert.deepEqual(values(seen.client, 'www-authenticate'), [expect.challenge]);
    if (expect.bodyError !== undefined)
      assert.equal((JSON.parse(seen.body) as { error?: string }).error, expect.bodyError);
    if (expect.upstreamUser !== undefined) {
      assert.deepEqual(values(seen.upstream, 'x-gatehouse-user'), [expect.upstreamUser]);
      assert.deepEqual(values(seen.upstream, 'x-gatehouse-jwt-assertion'), [
        `assertion-for-${expect.upstreamUser}`,
      ]);
    }
    const calls = runtime.calls;
    if (expect.assertionCredential !== undefined)
      assert.deepEqual(
        calls?.assertions.map((a) => a.credential ?? null),
        [expect.assertionCredential],
      );
    if (expect.refreshes !== undefined) {
      assert.equal(calls?.refreshed.length ?? 0, expect.refreshes);
      if (expect.refreshes > 0) assert.equal(calls?.refreshed[0], SESSION);
    }
  });
}

test('check stage: the policy sees the identity resolved (or renewed), never a refused one', async () => {
  for (const [caller, options, sub] of [
    [CALLERS.session, {}, 'alice'],
    [CALLERS.bearer, {}, 'robot'],
    [CALLERS.refusedBearer, {}, undefined],
    [CALLERS.expired, { refresh: 'renewed' }, 'alice'],
    [CALLERS.expired, { refresh: 'failed' }, undefined],
  ] as const) {
    const policy = fakePolicy(ALLOW);
    await createCheckHandler({
      policy: () => policy,
      identity: fakeRuntime({ caller, ...options }),
      log: SILENT,
    })(request('/app', API));
    const input = policy.inputs[0] as { identity: { authenticated: boolean; sub?: string } };
    assert.equal(input.identity.authenticated, sub !== undefined, caller.kind);
    assert.equal(input.identity.sub, sub);
  }
});

test('check stage: sign-out on the reserved path gets the session, live or expired', async () => {
  for (const caller of [CALLERS.session, CALLERS.expired, CALLERS.anonymous]) {
    const runtime = fakeRuntime({ caller });
    const outcome = await createCheckHandler({
      policy: () => fakePolicy(ALLOW),
      identity: runtime,
      log: SILENT,
    })(request('/.gatehouse/sign_out', { origin: 'https://app.example.test' }, 'POST'));
    assert.equal(outcome.handledBy, 'reserved');
    assert.deepEqual(runtime.calls.signedOut, [caller.kind === 'anonymous' ? undefined : SESSION]);
  }
});

test('check stage: every decision has its own id, in the dynamic metadata and the outcome', async () => {
  const ids = ['id-1', 'id-2'];
  const check = createCheckHandler({
    policy: () => fakePolicy(ALLOW),
    identity: fakeRuntime({ caller: CALLERS.anonymous }),
    log: SILENT,
    decisionId: () => ids.shift() ?? 'exhausted',
  });
  for (const expected of ['id-1', 'id-2']) {
    const outcome = await check(request('/app'));
    assert.equal(outcome.decisionId, expected);
    assert.deepEqual(outcome.response.dynamicMetadata, { decision_id: expected });
  }
  // On failures and reserved paths too.
  const failed = await createCheckHandler({
    policy: () => undefined,
    identity: fakeRuntime({ caller: CALLERS.anonymous }),
    log: SILENT,
  })(request('/app'));
  assert.match(
    String(failed.response.dynamicMetadata?.['decision_id']),
    /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    'a UUID v4 by default',
  );
});

test('check stage: without an observer, a plain decision line is written to the log', async () => {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level: 'info',
    destination: {
      write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>),
    },
  });
  const check = createCheckHandler({
    policy: () => undefined,
    identity: fakeRuntime({ caller: CALLERS.session }),
    log,
    decisionId: () => 'id-plain',
  });
  await check(request('/app?token=secret', API));
  assert.equal(lines.length, 1);
  const line = lines[0] ?? {};
  assert.equal(line['msg'], 'check failed');
  assert.equal(line['code'], 'ERR_POLICY_NOT_LOADED');
  assert.equal(line['decision_id'], 'id-plain');
  assert.equal(line['path'], '/app', 'no query in the line');
  assert.equal(line['sub'], 'alice');
  assert.equal(line['result'], 'error');
  assert.equal(line['status'], 503);
});

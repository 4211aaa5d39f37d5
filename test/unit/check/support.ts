/**
 * Fakes for the Check stage's unit tier: a policy (PolicyView), an identity runtime with a sign-in
 * flow, and an observer that records what it is told. No `opa`, no server, no network.
 */
import { create } from '@bufbuild/protobuf';
import type {
  CheckFacts,
  CheckObservation,
  CheckObserver,
  CheckOutcome,
  PolicyView,
} from '../../../src/check/handle.js';
import type { IdentityRuntime, SignInFlow, StepUpRequest } from '../../../src/identity/runtime.js';
import { anonymousRuntime } from '../../../src/identity/anonymous.js';
import { GatehouseError } from '../../../src/errors/gatehouse-error.js';
import {
  type CheckRequest,
  CheckRequestSchema,
} from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import type { Caller } from '../../../src/identity/caller.js';
import {
  ANONYMOUS,
  type AnonymousIdentity,
  type AuthenticatedIdentity,
} from '../../../src/input/types.js';
import { redirectReply } from '../../../src/pages/reply.js';
import type { VerifiedSession } from '../../../src/identity/session/types.js';
import { httpRequest } from '../../support/grpc-client.js';

export const HOST = 'app.example.test';
export const IDP_AUTH = 'https://idp.example.test/auth?state=s';
/** What Chromium sends for a top-level navigation. */
export const NAV = {
  accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
} as const;
export const API = { accept: 'application/json' } as const;

export function request(
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): CheckRequest {
  return create(
    CheckRequestSchema,
    httpRequest({ method, path, host: HOST, headers: { 'x-request-id': 'req-1', ...headers } }),
  );
}

export const ALICE: AuthenticatedIdentity = Object.freeze({
  authenticated: true,
  method: 'session',
  sub: 'alice',
  email: 'alice@example.com',
  email_verified: true,
  name: 'Alice',
  groups: ['staff'],
  claims: {},
  session_id: 'sid-alice',
  issued_at: 1_700_000_000,
  expires_at: 1_700_003_600,
});

export const ROBOT: AuthenticatedIdentity = Object.freeze({
  ...ALICE,
  method: 'bearer',
  sub: 'robot',
  email: null,
  session_id: null,
});

export const SESSION: VerifiedSession = Object.freeze({
  sub: 'alice',
  sid: 'sid-alice',
  email: 'alice@example.com',
  email_verified: true,
  name: 'Alice',
  groups: ['staff'],
  idp_iss: 'https://idp.example.test',
  auth_time: 1_700_000_000,
  claims: {},
  host: HOST,
  refresh_token: 'rt-1',
  iat: 1_700_000_000,
  exp: 1_700_003_600,
});

const anonymous: AnonymousIdentity = ANONYMOUS;

/** One caller of each kind. */
export const CALLERS = {
  anonymous: { kind: 'anonymous', identity: anonymous },
  session: { kind: 'session', identity: ALICE, session: SESSION, credential: 'cred-session' },
  bearer: { kind: 'bearer', identity: ROBOT, credential: 'cred-bearer' },
  expired: {
    kind: 'expired-session',
    identity: anonymous,
    session: SESSION,
    error: new GatehouseError('ERR_SESSION_EXPIRED'),
  },
  refusedBearer: {
    kind: 'refused',
    identity: anonymous,
    presented: 'bearer',
    error: new GatehouseError('ERR_TOKEN_EXPIRED'),
  },
  refusedSession: {
    kind: 'refused',
    identity: anonymous,
    presented: 'session',
    error: new GatehouseError('ERR_SESSION_INVALID'),
  },
} as const satisfies Record<string, Caller>;

/** A policy whose entrypoint gives `value` (or throws it, when it is an Error). */
export function fakePolicy(value: unknown): PolicyView & { readonly inputs: unknown[] } {
  const inputs: unknown[] = [];
  return {
    revision: 'rev-1',
    inputs,
    evaluate(input) {
      inputs.push(input);
      if (value instanceof Error) throw value;
      return value;
    },
  };
}

/** What the fake identity runtime was asked. */
export interface RuntimeCalls {
  readonly refreshed: VerifiedSession[];
  readonly started: string[];
  /** The step-up each `start` was asked for (`undefined` for a plain sign-in). */
  readonly stepUps: (StepUpRequest | undefined)[];
  readonly assertions: { sub: string; credential: string | undefined }[];
  readonly signedOut: (VerifiedSession | undefined)[];
}

export interface FakeRuntimeOptions {
  readonly caller: Caller | (() => Promise<Caller>);
  /** The sign-in flow: present unless `false`. */
  readonly signIn?: boolean;
  /** The refresh outcome: renewed as Alice, or failed. */
  readonly refresh?: 'renewed' | 'failed';
  /** `start` throws this code (the IdP unreachable). */
  readonly startFails?: 'ERR_OIDC_UNAVAILABLE';
}

/** An identity runtime with a sign-in flow, answering with a fixed caller and recording calls. */
export function fakeRuntime(options: FakeRuntimeOptions): IdentityRuntime & {
  readonly calls: RuntimeCalls;
} {
  const calls: RuntimeCalls = {
    refreshed: [],
    started: [],
    stepUps: [],
    assertions: [],
    signedOut: [],
  };
  const flow: SignInFlow = {
    start(_view, returnTo, stepUp) {
      calls.started.push(returnTo);
      calls.stepUps.push(stepUp);
      if (options.startFails !== undefined)
        return Promise.reject(new GatehouseError(options.startFails));
      return Promise.resolve(redirectReply(IDP_AUTH, [['set-cookie', 'txn=1']]));
    },
    signIn: () => Promise.resolve(redirectReply(IDP_AUTH)),
    callback: () => Promise.resolve(redirectReply('/')),
    signOut(_view, session) {
      calls.signedOut.push(session);
      return Promise.resolve({ ...redirectReply('/.gatehouse/signed_out'), status: 303 });
    },
    refresh(session) {
      calls.refreshed.push(session);
      return Promise.resolve(
        options.refresh === 'renewed'
          ? { identity: { ...ALICE, session_id: 'sid-renewed' }, cookie: 'gh=renewed' }
          : undefined,
      );
    },
  };
  const base = anonymousRuntime();
  const { caller } = options;
  return {
    ...base,
    enabled: true,
    calls,
    resolve: typeof caller === 'function' ? caller : () => Promise.resolve(caller),
    assertion(identity, _host, credential) {
      calls.assertions.push({ sub: identity.sub, credential });
      return Promise.resolve(`assertion-for-${identity.sub}`);
    },
    jwks: { keys: [{ kty: 'EC', kid: 'k1' }] },
    signIn: options.signIn === false ? undefined : flow,
    clearCookie: () => 'gh=; Max-Age=0',
  };
}

/** An observer that records each Check's outcome and facts, and every evaluation. */
export function recordingObserver(): CheckObserver & {
  readonly ended: { outcome: CheckOutcome; facts: CheckFacts }[];
  readonly evaluated: string[];
} {
  const ended: { outcome: CheckOutcome; facts: CheckFacts }[] = [];
  const evaluated: string[] = [];
  return {
    ended,
    evaluated,
    begin(): CheckObservation {
      return {
        run: (fn) => fn(),
        evaluate(policy, input) {
          evaluated.push(policy.revision);
          return policy.evaluate(input);
        },
        end(outcome, facts) {
          ended.push({ outcome, facts });
        },
      };
    },
  };
}

import { randomUUID } from 'node:crypto';
import { identityHeaderMutations } from '../identity/assertion/headers.js';
import type { CheckRequest, CheckResponse } from '../gen/envoy/service/auth/v3/external_auth_pb.js';
import { normalizeDecision } from '../decision/normalize.js';
import type { Decision, HeaderEntry } from '../decision/types.js';
import {
  describe,
  shortfalls,
  stepUpChallenge,
  type StepUp,
  type StepUpShortfall,
} from '../decision/step-up.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { type Caller, sessionOf } from '../identity/caller.js';
import type { VerifiedSession } from '../identity/session/types.js';
import { deviceShortfall, type DeviceShortfall } from '../decision/device-proof.js';
import { resolveDevice, type DeviceOptions, type ResolvedDevice } from '../device/resolve.js';
import { bearerChallenge } from '../identity/bearer/challenge.js';
import { buildInput } from '../input/build.js';
import { ANONYMOUS, type Identity, type PolicyInput } from '../input/types.js';
import type { Logger } from '../log/logger.js';
import { decisionResult } from './result.js';
import { denyPage, PATHS } from '../pages/pages.js';
import { isBrowserNavigation, jsonReply, type LocalReply } from '../pages/reply.js';
import {
  decisionToCheckResponse,
  isEnvoyHttpStatus,
  localReplyToCheckResponse,
  withDecisionId,
  type ResponseExtras,
} from '../response/check-response.js';
import { failedCheckResponse } from './failed-check.js';
import type { IdentityRuntime } from '../identity/runtime.js';
import { handleReserved, isReservedPath } from './reserved.js';
import { requestView, type RequestView } from '../input/request-view.js';

/** The policy as the Check path sees it: a revision and a synchronous evaluation. */
export interface PolicyView {
  readonly revision: string;
  /** The entrypoint's value, `undefined` when the rule is undefined. @throws GatehouseError `ERR_POLICY_EVAL` */
  evaluate(input: unknown): unknown;
}

export interface CheckDeps {
  /** The policy serving now; `undefined` until the first load succeeds. */
  readonly policy: () => PolicyView | undefined;
  /** Who is asking and what the upstream is told; `anonymousRuntime()` when identity is off. */
  readonly identity: IdentityRuntime;
  readonly log: Logger;
  /**
   * Decision log, metrics and tracing hooks. Without one, {@link plainObserver}: a plain decision
   * line is written to `log` (what `gatehouse check` and unit tests use).
   */
  readonly observer?: CheckObserver;
  /** A new decision id per Check; `randomUUID` unless a test fixes it. */
  readonly decisionId?: () => string;
  /** Client certificates into `input.device` (config `device`); without it there is no `input.device`. */
  readonly device?: DeviceOptions;
  /**
   * The clock (ms since the epoch) for device proofs' age, step-up's `auth_time` and the
   * who-am-I page: `Date.now` unless a test moves time (the same clock as the sessions').
   */
  readonly now?: () => number;
}

/** Facts about one finished Check that only the Check path knows, for logs, metrics and traces. */
export interface CheckFacts {
  readonly request: CheckRequest;
  readonly view: RequestView;
  /** The policy revision that decided, when the policy ran. */
  readonly revision: string | undefined;
  readonly latencyUs: number;
  /** Why a presented session or bearer token was refused (the caller was then anonymous). */
  readonly identityError: GatehouseError | undefined;
}

/** Watches one Check; see {@link CheckObserver}. Its methods must not throw. */
export interface CheckObservation {
  /** Runs the Check's stages (tracing makes its span current for them). */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Evaluates the policy, timed and traced; rethrows the policy's error unchanged. */
  evaluate(policy: PolicyView, input: PolicyInput): unknown;
  /** The Check is answered: write the decision line, count it, end its span. */
  end(outcome: CheckOutcome, facts: CheckFacts): void;
}

/** Observability hooks on the Check path; `begin` is called once per Check, first. */
export interface CheckObserver {
  begin(request: CheckRequest, view: RequestView): CheckObservation;
}

/** The outcome of one Check, for the decision log, metrics and tests. */
export interface CheckOutcome {
  readonly response: CheckResponse;
  /** The policy input, when the request got that far (for `gatehouse check` and tests). */
  readonly input: PolicyInput | undefined;
  readonly decision: Decision | undefined;
  readonly error: GatehouseError | undefined;
  readonly identity: Identity;
  /** What answered: the policy, a reserved path, or the sign-in flow. */
  readonly handledBy: 'policy' | 'reserved' | 'sign-in' | 'error';
  /**
   * A random UUID (v4) for this decision, as the OPA-Envoy plugin's `decision_id`: in the
   * response's dynamic metadata (`decision_id`) and the decision log, so access logs correlate.
   */
  readonly decisionId: string;
}

/** An outcome before its decision id is stamped on. */
type StageOutcome = Omit<CheckOutcome, 'decisionId'>;

/** One Check's answer: its outcome, and what the observer is told besides. */
interface Answer extends StageOutcome {
  /** The policy revision that decided, when the policy ran. */
  readonly revision: string | undefined;
  /** Why a presented credential was refused (or that a session had expired). */
  readonly identityError: GatehouseError | undefined;
}

/** What a failed Check still reports: how far it got. */
interface Reached {
  readonly identity: Identity;
  readonly identityError: GatehouseError | undefined;
  readonly input?: PolicyInput;
  readonly revision?: string;
}

/**
 * The caller once an expired session is renewed or dropped: who the policy sees, and what the
 * browser is told about its cookies.
 */
interface Asker {
  readonly identity: Identity;
  /** The credential's cache key when `identity` is exactly what it gave (not a renewed session). */
  readonly credential: string | undefined;
  /** A refused bearer token: never a sign-in redirect, and the 401 names the problem. */
  readonly refusedBearer: GatehouseError | undefined;
  /** `set-cookie` for the browser: the renewed session, or the session cleared. */
  readonly cookies: readonly HeaderEntry[];
  readonly identityError: GatehouseError | undefined;
}

/**
 * Build the Check handler: wire → input → identity → policy → response.
 *
 * Order matters for security: Gatehouse's reserved paths are answered before the policy runs
 * (they never reach the upstream); identity comes only from a verified session or bearer token;
 * on allow, client-supplied identity headers and Gatehouse's cookies are always stripped.
 *
 * It never throws and never allows on failure: any error along the way (unparsable request, no
 * policy, policy error, undefined or malformed decision, or anything unforeseen) becomes a deny
 * carrying the error's documented status and stable code.
 *
 * @example
 *   const check = createCheckHandler({ policy: () => engine.current(), identity: anonymousRuntime(names), log });
 *   const { response } = await check(request);
 */
export function createCheckHandler(
  deps: CheckDeps,
): (request: CheckRequest) => Promise<CheckOutcome> {
  const observer = deps.observer ?? plainObserver(deps.log);
  const newDecisionId = deps.decisionId ?? randomUUID;
  return async function check(request: CheckRequest): Promise<CheckOutcome> {
    const started = process.hrtime.bigint();
    const view = requestView(request);
    const watch = observer.begin(request, view);
    // Each stage turns its own failures into a deny; this is for the unforeseen.
    const ran = await attempt(() => watch.run(() => answerCheck(deps, request, view, watch)));
    const answer = ran.ok
      ? ran.value
      : failed(view, ran.error, { identity: ANONYMOUS, identityError: undefined });
    const { revision, identityError, ...stage } = answer;
    const decisionId = newDecisionId();
    const outcome: CheckOutcome = {
      ...stage,
      response: withDecisionId(stage.response, decisionId),
      decisionId,
    };
    watch.end(outcome, {
      request,
      view,
      revision,
      latencyUs: Number((process.hrtime.bigint() - started) / 1000n),
      identityError,
    });
    return outcome;
  };
}

/** {@link CheckDeps.now} in Unix seconds. */
function nowSeconds(deps: CheckDeps): number {
  return Math.floor((deps.now ?? Date.now)() / 1000);
}

/** Who is asking, then a reserved path's answer or the policy's. */
async function answerCheck(
  deps: CheckDeps,
  request: CheckRequest,
  view: RequestView,
  watch: CheckObservation,
): Promise<Answer> {
  const device = deps.device === undefined ? undefined : resolveDevice(request, deps.device);
  if (device?.detail !== undefined)
    deps.log.warn(
      { request_id: view.requestId, ...device.device.certificate_error, err: device.detail },
      'client certificate refused',
    );
  // The certificate a device-bound session must come with, and a new session may be bound to.
  const fingerprint = device?.device.certificate?.fingerprint_sha256;
  const seen = fingerprint === undefined ? view : { ...view, deviceFingerprint: fingerprint };
  const caller = await deps.identity.resolve(view.headers, view.host, fingerprint);
  if (caller.kind === 'refused' && caller.error.code === 'ERR_SESSION_DEVICE_MISMATCH')
    deps.log.warn(
      { request_id: view.requestId, err: caller.error.cause },
      'session refused: bound to another device certificate',
    );
  if (!isReservedPath(view.pathname)) return decide(deps, request, view, watch, caller, device);
  const reply = await handleReserved(seen, caller, deps.identity, deps.now);
  return {
    response: localReplyToCheckResponse(reply),
    input: undefined,
    decision: undefined,
    error: undefined,
    identity: caller.identity,
    handledBy: 'reserved',
    revision: undefined,
    identityError: identityErrorOf(caller),
  };
}

/** identity → input → policy → response; a failing step is a deny with what was reached. */
async function decide(
  deps: CheckDeps,
  request: CheckRequest,
  view: RequestView,
  watch: CheckObservation,
  caller: Caller,
  device: ResolvedDevice | undefined,
): Promise<Answer> {
  const settled = await attempt(() => settle(caller, deps.identity));
  if (!settled.ok)
    return failed(view, settled.error, {
      identity: caller.identity,
      identityError: identityErrorOf(caller),
    });
  const asker = settled.value;
  const known: Reached = { identity: asker.identity, identityError: asker.identityError };
  // A device proof lives on the session record (kept across a refresh): only a session has one.
  const session =
    asker.identity.authenticated && asker.identity.method === 'session'
      ? sessionOf(caller)
      : undefined;
  const enrolledDevice = deps.identity.enrolledDevice;
  // Without a device nothing here waits: no promise, no turn of the microtask queue.
  const built =
    device === undefined
      ? attemptNow(() => buildInput(request, asker.identity, undefined))
      : await attempt(async () =>
          buildInput(request, asker.identity, {
            ...device.device,
            session_bound: boundSession(caller, asker.identity),
            ...(enrolledDevice === undefined
              ? {}
              : { enrolled: await enrolledDevice(session, nowSeconds(deps)) }),
          }),
        );
  if (!built.ok) return failed(view, built.error, known);
  const input = built.value;
  const policy = deps.policy();
  if (policy === undefined)
    return failed(view, new GatehouseError('ERR_POLICY_NOT_LOADED'), { ...known, input });
  const reached = { ...known, input, revision: policy.revision };
  const decided = attemptNow(() =>
    normalizeDecision(watch.evaluate(policy, input), isEnvoyHttpStatus),
  );
  if (!decided.ok) return failed(view, decided.error, reached);
  const decision = decided.value;
  const responded = await attempt(() =>
    respond({ runtime: deps.identity, view, asker, decision, session, now: nowSeconds(deps) }),
  );
  if (!responded.ok) return failed(view, responded.error, reached);
  return { ...reached, decision, error: undefined, ...responded.value };
}

/** A step's value, or what it threw as a coded error. */
type Attempt<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: GatehouseError };

async function attempt<T>(run: () => T | Promise<T>): Promise<Attempt<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (thrown) {
    return { ok: false, error: GatehouseError.from(thrown) };
  }
}

/** {@link attempt} for a step that never waits. */
function attemptNow<T>(run: () => T): Attempt<T> {
  try {
    return { ok: true, value: run() };
  } catch (thrown) {
    return { ok: false, error: GatehouseError.from(thrown) };
  }
}

/** The deny for a Check that failed, with how far it got. */
function failed(view: RequestView, error: GatehouseError, reached: Reached): Answer {
  return {
    response: failedCheckResponse(error, view),
    input: reached.input,
    decision: undefined,
    error,
    identity: reached.identity,
    handledBy: 'error',
    revision: reached.revision,
    identityError: reached.identityError,
  };
}

function identityErrorOf(caller: Caller): GatehouseError | undefined {
  return caller.kind === 'refused' || caller.kind === 'expired-session' ? caller.error : undefined;
}

/**
 * `input.device.session_bound`: the caller's session is bound to a device certificate — the one
 * this request presented, since a bound session presented with any other is refused.
 */
function boundSession(caller: Caller, identity: Identity): boolean {
  return (
    identity.authenticated &&
    identity.method === 'session' &&
    (caller.kind === 'session' || caller.kind === 'expired-session') &&
    caller.session.device_x5t !== undefined
  );
}

function setCookie(value: string): HeaderEntry {
  return { name: 'set-cookie', value };
}

/** Renew an expired session (or drop it), clear a refused one: who the policy will see. */
async function settle(caller: Caller, runtime: IdentityRuntime): Promise<Asker> {
  switch (caller.kind) {
    case 'anonymous':
      return {
        identity: caller.identity,
        credential: undefined,
        refusedBearer: undefined,
        cookies: [],
        identityError: undefined,
      };
    case 'bearer':
    case 'session':
      return {
        identity: caller.identity,
        credential: caller.credential,
        refusedBearer: undefined,
        cookies: [],
        identityError: undefined,
      };
    case 'refused':
      // The session store cannot answer (past its stale window): a clear deny (503), never an
      // allow and never a sign-out: the cookie is kept for when the store is back.
      if (caller.error.code === 'ERR_SESSION_STORE_UNAVAILABLE') throw caller.error;
      return {
        identity: caller.identity,
        credential: undefined,
        refusedBearer: caller.presented === 'bearer' ? caller.error : undefined,
        // A refused session cookie is cleared: the browser stops sending it. Not one refused for
        // want of its device certificate: the device it is bound to may still hold it.
        cookies:
          caller.presented === 'session' && caller.error.code !== 'ERR_SESSION_DEVICE_MISMATCH'
            ? [setCookie(runtime.clearCookie())]
            : [],
        identityError: caller.error,
      };
    case 'expired-session': {
      // An authentic but expired session: renew it with its refresh token, or drop it.
      const renewed =
        runtime.signIn === undefined ? undefined : await runtime.signIn.refresh(caller.session);
      return {
        identity: renewed?.identity ?? caller.identity,
        // A renewed identity is not what the old cookie gave: no assertion reuse for it.
        credential: undefined,
        refusedBearer: undefined,
        // Renewed in the store, the handle stays: no set-cookie then.
        cookies:
          renewed === undefined
            ? [setCookie(runtime.clearCookie())]
            : renewed.cookie === undefined
              ? []
              : [setCookie(renewed.cookie)],
        identityError: caller.error,
      };
    }
  }
}

/** What {@link respond} answers from. */
interface Respond {
  readonly runtime: IdentityRuntime;
  readonly view: RequestView;
  readonly asker: Asker;
  readonly decision: Decision;
  /** The caller's session, when the identity is a session's: its device proof. */
  readonly session?: VerifiedSession | undefined;
  /** This Check's time, Unix seconds ({@link CheckDeps.now}). */
  readonly now: number;
}

async function respond({
  runtime,
  view,
  asker,
  decision,
  session,
  now,
}: Respond): Promise<Pick<StageOutcome, 'response' | 'handledBy'>> {
  const { identity, cookies } = asker;
  const stepUp = decision.allowed ? unmetStepUp(decision, identity, now) : undefined;
  if (stepUp !== undefined) return stepUpResponse({ runtime, view, asker, decision, now }, stepUp);
  const device =
    decision.allowed && decision.requireDevice !== undefined
      ? deviceShortfall(decision.requireDevice, session, runtime.deviceProofIntervalSeconds, now)
      : undefined;
  if (device !== undefined)
    return deviceProofResponse({ runtime, view, asker, decision, now }, device);
  if (decision.allowed) {
    const assertion = identity.authenticated
      ? await runtime.assertion(identity, view.host, asker.credential)
      : undefined;
    const mutations = identityHeaderMutations({
      requestHeaders: view.headers,
      names: runtime.headerNames,
      ...(identity.authenticated ? { identity } : {}),
      ...(assertion === undefined ? {} : { assertion }),
      sessionCookieNames: runtime.ownCookies,
    });
    const requestHeaders: HeaderEntry[] = mutations.set.map(([name, value]) => ({ name, value }));
    const remove = [...mutations.remove];
    if (typeof mutations.cookie === 'string')
      requestHeaders.push({ name: 'cookie', value: mutations.cookie });
    else if (mutations.cookie === null) remove.push('cookie');
    const extras: ResponseExtras = {
      requestHeaders,
      removeRequestHeaders: remove,
      responseHeaders: [...cookies],
    };
    return { response: decisionToCheckResponse(decision, extras), handledBy: 'policy' };
  }

  // A deny the policy shaped itself (its own status or body) is sent as the policy wrote it.
  const policyShaped = decision.httpStatus !== undefined || decision.body !== undefined;
  const extras: ResponseExtras = {
    requestHeaders: [],
    removeRequestHeaders: [],
    responseHeaders: [...cookies],
  };
  if (policyShaped || !runtime.enabled)
    return { response: decisionToCheckResponse(decision, extras), handledBy: 'policy' };

  const withCookies = (reply: LocalReply): CheckResponse =>
    localReplyToCheckResponse({
      ...reply,
      headers: [...reply.headers, ...cookies.map((c) => [c.name, c.value] as const)],
    });
  if (!identity.authenticated) {
    // Unauthenticated: a browser goes to sign-in; anything else gets 401, never a redirect.
    if (
      runtime.signIn !== undefined &&
      isBrowserNavigation(view.method, view.headers) &&
      asker.refusedBearer === undefined
    ) {
      const reply = await runtime.signIn.start(view, view.path);
      return { response: withCookies(reply), handledBy: 'sign-in' };
    }
    return { response: withCookies(unauthorized(view, asker.refusedBearer)), handledBy: 'sign-in' };
  }
  const page = denyPage({
    headers: view.headers,
    identity,
    method: view.method,
    url: `${view.scheme}://${view.host}${view.pathname}`,
    reasons: decision.reasons,
    requestId: view.requestId,
  });
  return { response: withCookies(page), handledBy: 'policy' };
}

/** An allow's step-up and what the caller lacks for it; undefined when there is none or it is met. */
function unmetStepUp(
  decision: Decision,
  identity: Identity,
  nowSeconds: number,
): { readonly stepUp: StepUp; readonly missing: StepUpShortfall[] } | undefined {
  if (decision.stepUp === undefined) return undefined;
  const facts = identity.authenticated ? identity : {};
  const missing = shortfalls(decision.stepUp, facts, nowSeconds);
  return missing.length === 0 ? undefined : { stepUp: decision.stepUp, missing };
}

/**
 * An allow whose step-up the caller does not meet is not an allow: a browser navigation with a
 * session (or none) is sent to the IdP with `max_age`/`acr_values` and comes back to this same
 * URL; anything else (a bearer token, an API request) gets a 401 with the RFC 9470 challenge.
 */
async function stepUpResponse(
  { runtime, view, asker }: Respond,
  unmet: { readonly stepUp: StepUp; readonly missing: StepUpShortfall[] },
): Promise<Pick<StageOutcome, 'response' | 'handledBy'>> {
  const { identity, cookies } = asker;
  const withCookies = (reply: LocalReply): CheckResponse =>
    localReplyToCheckResponse({
      ...reply,
      headers: [...reply.headers, ...cookies.map((c) => [c.name, c.value] as const)],
    });
  const byBrowser =
    runtime.signIn !== undefined &&
    asker.refusedBearer === undefined &&
    (!identity.authenticated || identity.method === 'session') &&
    isBrowserNavigation(view.method, view.headers);
  if (byBrowser && runtime.signIn !== undefined) {
    const reply = await runtime.signIn.start(view, view.path, {
      stepUp: unmet.stepUp,
      sub: identity.authenticated ? identity.sub : undefined,
    });
    return { response: withCookies(reply), handledBy: 'sign-in' };
  }
  const error = new GatehouseError('ERR_STEP_UP_REQUIRED');
  const reply = jsonReply(
    401,
    {
      error: error.code,
      message: `${describe(unmet.missing)}.`,
      reasons: [],
      request_id: view.requestId,
    },
    [['www-authenticate', stepUpChallenge(unmet.stepUp, unmet.missing)]],
  );
  return { response: withCookies(reply), handledBy: 'sign-in' };
}

/**
 * An allow that requires a device the session has not (recently) proved is not an allow: a
 * browser navigation with a session is sent to the devices page, which proves possession and
 * comes back to this same URL; anything else (a bearer token, an API request, no session)
 * gets 401 `ERR_DEVICE_PROOF_REQUIRED`.
 */
function deviceProofResponse(
  { runtime, view, asker, decision }: Respond,
  shortfall: DeviceShortfall,
): Pick<StageOutcome, 'response' | 'handledBy'> {
  const { identity, cookies } = asker;
  const withCookies = (reply: LocalReply): CheckResponse =>
    localReplyToCheckResponse({
      ...reply,
      headers: [...reply.headers, ...cookies.map((c) => [c.name, c.value] as const)],
    });
  if (
    runtime.devices !== undefined &&
    identity.authenticated &&
    identity.method === 'session' &&
    isBrowserNavigation(view.method, view.headers)
  ) {
    // `uv=required`: the page's proof asks the authenticator for user verification.
    const uv = decision.requireDevice?.userVerification === true ? { uv: 'required' } : {};
    const location = `${PATHS.devices}?${new URLSearchParams({ rd: view.path, why: shortfall, ...uv })}`;
    return {
      response: withCookies({
        status: 302,
        headers: [
          ['location', location],
          ['cache-control', 'no-store'],
        ],
        body: '',
      }),
      handledBy: 'sign-in',
    };
  }
  const error = new GatehouseError('ERR_DEVICE_PROOF_REQUIRED');
  const reply = jsonReply(401, {
    error: error.code,
    message: error.message,
    reasons: [],
    request_id: view.requestId,
  });
  return { response: withCookies(reply), handledBy: 'sign-in' };
}

/**
 * 401 with a `WWW-Authenticate` challenge (RFC 6750), naming a refused token's problem in words
 * (its code's fixed message, e.g. "The bearer token has expired."). Same body shape as the 403;
 * `reasons` stays empty: the policy's reasons are shown to signed-in callers only.
 */
function unauthorized(view: RequestView, refused: GatehouseError | undefined): LocalReply {
  const challenge = bearerChallenge(view.host, refused !== undefined);
  return jsonReply(
    401,
    {
      error: refused?.code ?? 'ERR_UNAUTHENTICATED',
      message:
        refused === undefined
          ? 'Authentication required.'
          : `${refused.spec.message} Authentication required.`,
      reasons: [],
      request_id: view.requestId,
    },
    [['www-authenticate', challenge]],
  );
}

/**
 * The observer when none is given (`gatehouse check`, unit tests): the policy evaluated as is, and
 * a plain decision line written to `log`.
 */
export function plainObserver(log: Logger): CheckObserver {
  return {
    begin: () => ({
      run: (fn) => fn(),
      evaluate: (policy, input) => policy.evaluate(input),
      end: (outcome, facts) => logOutcome(log, outcome, facts),
    }),
  };
}

function logOutcome(log: Logger, outcome: CheckOutcome, facts: CheckFacts): void {
  const { decision, error, identity } = outcome;
  const { view } = facts;
  const line = {
    request_id: view.requestId,
    decision_id: outcome.decisionId,
    method: view.method,
    host: view.host,
    // The path without its query: query values may carry secrets (codes, tokens).
    path: view.pathname,
    allowed: outcome.response.httpResponse.case === 'okResponse',
    result: decisionResult(outcome),
    status: statusOf(outcome),
    handled_by: outcome.handledBy,
    sub: identity.authenticated ? identity.sub : undefined,
    email: identity.authenticated ? identity.email : undefined,
    auth: identity.authenticated ? identity.method : 'anonymous',
    reasons: decision?.reasons,
    policy_revision: facts.revision,
    latency_us: facts.latencyUs,
  };
  if (error !== undefined)
    log.warn({ ...line, code: error.code, err: error.cause ?? error }, 'check failed');
  else log.info(line, 'check');
}

/** The HTTP status Envoy returns to the client for this outcome (200 when allowed). */
export function statusOf(outcome: CheckOutcome): number {
  const r = outcome.response.httpResponse;
  if (r.case === 'okResponse') return 200;
  if (r.case === 'deniedResponse' || r.case === 'errorResponse') return r.value.status?.code ?? 403;
  return 403;
}

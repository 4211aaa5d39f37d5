import { randomUUID } from 'node:crypto';
import { identityHeaderMutations } from '../identity/assertion/headers.js';
import type { CheckRequest, CheckResponse } from '../gen/envoy/service/auth/v3/external_auth_pb.js';
import { resolveDevice, type DeviceOptions } from '../device/resolve.js';
import { normalizeDecision } from '../decision/normalize.js';
import type { Decision, HeaderEntry } from '../decision/types.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { bearerChallenge } from '../identity/bearer/challenge.js';
import type { ResolvedIdentity } from '../identity/resolve.js';
import { buildInput } from '../input/build.js';
import { ANONYMOUS, type Identity, type PolicyInput } from '../input/types.js';
import type { Logger } from '../log/logger.js';
import { decisionResult } from './result.js';
import { denyPage } from '../pages/pages.js';
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
   * Decision log, metrics and tracing hooks. Without one, a plain decision line is written to
   * `log` (what `gatehouse check` and unit tests use).
   */
  readonly observer?: CheckObserver;
  /** Client certificates into `input.device` (config `device`); without it there is no `input.device`. */
  readonly device?: DeviceOptions;
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
  return async function check(request: CheckRequest): Promise<CheckOutcome> {
    const started = process.hrtime.bigint();
    const view = requestView(request);
    const watch = deps.observer?.begin(request, view);
    let revision: string | undefined;
    let input: PolicyInput | undefined;
    let identity: Identity = ANONYMOUS;
    let identityError: GatehouseError | undefined;
    const stages = async (): Promise<StageOutcome> => {
      if (isReservedPath(view.pathname)) {
        const resolved = await deps.identity.resolve(view.headers, view.host);
        identity = resolved.identity;
        identityError = resolved.error;
        const reply = await handleReserved(view, resolved, deps.identity);
        return {
          response: localReplyToCheckResponse(reply),
          input,
          decision: undefined,
          error: undefined,
          identity,
          handledBy: 'reserved',
        };
      }
      const resolved = await deps.identity.resolve(view.headers, view.host);
      const cookies: HeaderEntry[] = [];
      ({ identity } = resolved);
      identityError = resolved.error;
      if (resolved.session?.expired && deps.identity.signIn !== undefined) {
        // An authentic but expired session: renew it with its refresh token, or drop it.
        const renewed = await deps.identity.signIn.refresh(resolved.session.data);
        if (renewed !== undefined) {
          identity = renewed.identity;
          cookies.push({ name: 'set-cookie', value: renewed.cookie });
        } else {
          cookies.push({ name: 'set-cookie', value: deps.identity.clearCookie() });
        }
      } else if (resolved.source === 'session' && resolved.error !== undefined) {
        cookies.push({ name: 'set-cookie', value: deps.identity.clearCookie() });
      }
      const device = deps.device === undefined ? undefined : resolveDevice(request, deps.device);
      if (device?.detail !== undefined)
        deps.log.warn(
          { request_id: view.requestId, ...device.device.certificate_error, err: device.detail },
          'client certificate refused',
        );
      input = buildInput(request, identity, device?.device);
      const policy = deps.policy();
      if (policy === undefined) throw new GatehouseError('ERR_POLICY_NOT_LOADED');
      revision = policy.revision;
      const value = watch === undefined ? policy.evaluate(input) : watch.evaluate(policy, input);
      const decision = normalizeDecision(value, isEnvoyHttpStatus);
      return respond(deps.identity, view, resolved, identity, decision, cookies, input);
    };
    let stage: StageOutcome;
    try {
      stage = watch === undefined ? await stages() : await watch.run(stages);
    } catch (thrown) {
      const error = GatehouseError.from(thrown);
      stage = {
        response: failedCheckResponse(error, view),
        input,
        decision: undefined,
        error,
        identity,
        handledBy: 'error',
      };
    }
    const decisionId = randomUUID();
    const outcome: CheckOutcome = {
      ...stage,
      response: withDecisionId(stage.response, decisionId),
      decisionId,
    };
    if (watch === undefined) logOutcome(deps.log, outcome, view, revision, started);
    else
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

async function respond(
  runtime: IdentityRuntime,
  view: RequestView,
  resolved: ResolvedIdentity,
  identity: Identity,
  decision: Decision,
  cookies: HeaderEntry[],
  input: PolicyInput,
): Promise<StageOutcome> {
  const base = { input, decision, error: undefined, identity } as const;
  if (decision.allowed) {
    // The credential's key only when the identity is the one it gave (not a refreshed session).
    const credential = identity === resolved.identity ? resolved.credential : undefined;
    const assertion = identity.authenticated
      ? await runtime.assertion(identity, view.host, credential)
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
      responseHeaders: cookies,
    };
    return { ...base, response: decisionToCheckResponse(decision, extras), handledBy: 'policy' };
  }

  // A deny the policy shaped itself (its own status or body) is sent as the policy wrote it.
  const policyShaped = decision.httpStatus !== undefined || decision.body !== undefined;
  const extras: ResponseExtras = {
    requestHeaders: [],
    removeRequestHeaders: [],
    responseHeaders: cookies,
  };
  if (policyShaped || !runtime.enabled)
    return { ...base, response: decisionToCheckResponse(decision, extras), handledBy: 'policy' };

  const withCookies = (reply: LocalReply): LocalReply => ({
    ...reply,
    headers: [...reply.headers, ...cookies.map((c) => [c.name, c.value] as const)],
  });
  if (!identity.authenticated) {
    // Unauthenticated: a browser goes to sign-in; anything else gets 401, never a redirect.
    if (
      runtime.signIn !== undefined &&
      isBrowserNavigation(view.method, view.headers) &&
      resolved.source !== 'bearer'
    ) {
      const reply = await runtime.signIn.start(view, view.path);
      return {
        ...base,
        response: localReplyToCheckResponse(withCookies(reply)),
        handledBy: 'sign-in',
      };
    }
    return {
      ...base,
      response: localReplyToCheckResponse(withCookies(unauthorized(view, resolved))),
      handledBy: 'sign-in',
    };
  }
  const page = denyPage({
    headers: view.headers,
    identity,
    method: view.method,
    url: `${view.scheme}://${view.host}${view.pathname}`,
    reasons: decision.reasons,
    requestId: view.requestId,
  });
  return { ...base, response: localReplyToCheckResponse(withCookies(page)), handledBy: 'policy' };
}

/**
 * 401 with a `WWW-Authenticate` challenge (RFC 6750), naming a refused token's problem in words
 * (its code's fixed message, e.g. "The bearer token has expired."). Same body shape as the 403;
 * `reasons` stays empty: the policy's reasons are shown to signed-in callers only.
 */
function unauthorized(view: RequestView, resolved: ResolvedIdentity): LocalReply {
  const refused = resolved.source === 'bearer' ? resolved.error : undefined;
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

function logOutcome(
  log: Logger,
  outcome: CheckOutcome,
  view: RequestView,
  revision: string | undefined,
  started: bigint,
): void {
  const { decision, error, identity } = outcome;
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
    policy_revision: revision,
    latency_us: Number((process.hrtime.bigint() - started) / 1000n),
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

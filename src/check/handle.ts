import type { CheckRequest, CheckResponse } from '../gen/envoy/service/auth/v3/external_auth_pb.js';
import { normalizeDecision } from '../decision/normalize.js';
import type { Decision } from '../decision/types.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { buildInput } from '../input/build.js';
import type { Identity, PolicyInput } from '../input/types.js';
import type { Logger } from '../log/logger.js';
import { decisionToCheckResponse, errorToCheckResponse, isEnvoyHttpStatus } from '../response/check-response.js';

/** The policy as the Check path sees it: a revision and a synchronous evaluation. */
export interface PolicyView {
  readonly revision: string;
  /** The entrypoint's value, `undefined` when the rule is undefined. @throws GatehouseError `ERR_POLICY_EVAL` */
  evaluate(input: unknown): unknown;
}

export interface CheckDeps {
  /** The policy serving now; `undefined` until the first load succeeds. */
  readonly policy: () => PolicyView | undefined;
  /** Who is asking. The identity issue plugs sessions and bearer tokens in here. */
  readonly identify: (request: CheckRequest) => Identity | Promise<Identity>;
  readonly log: Logger;
}

/** The outcome of one Check, for the decision log, metrics and tests. */
export interface CheckOutcome {
  readonly response: CheckResponse;
  /** The policy input, when the request got that far (for `gatehouse check` and tests). */
  readonly input: PolicyInput | undefined;
  readonly decision: Decision | undefined;
  readonly error: GatehouseError | undefined;
}

const ANONYMOUS: Identity = Object.freeze({ authenticated: false });

/** The identity resolver used until sign-in is configured: everyone is anonymous. */
export function anonymous(): Identity {
  return ANONYMOUS;
}

/**
 * Build the Check handler: wire → input → identity → policy → response.
 *
 * It never throws and never allows on failure: any error along the way (unparsable request,
 * no policy, policy error, undefined or malformed decision, or anything unforeseen) becomes a
 * deny carrying the error's documented status and stable code.
 *
 * @example
 *   const check = createCheckHandler({ policy: () => engine.current(), identify: anonymous, log });
 *   const response = await check(request);
 */
export function createCheckHandler(deps: CheckDeps): (request: CheckRequest) => Promise<CheckOutcome> {
  return async function check(request: CheckRequest): Promise<CheckOutcome> {
    const started = process.hrtime.bigint();
    const http = request.attributes?.request?.http;
    const requestId = http?.headers['x-request-id'] ?? http?.id ?? '';
    let outcome: CheckOutcome;
    let revision: string | undefined;
    let input: PolicyInput | undefined;
    try {
      const identity = await deps.identify(request);
      input = buildInput(request, identity);
      const policy = deps.policy();
      if (policy === undefined) throw new GatehouseError('ERR_POLICY_NOT_LOADED');
      revision = policy.revision;
      const decision = normalizeDecision(policy.evaluate(input), isEnvoyHttpStatus);
      outcome = { response: decisionToCheckResponse(decision), input, decision, error: undefined };
    } catch (thrown) {
      const error = GatehouseError.from(thrown);
      outcome = { response: errorToCheckResponse(error, requestId), input, decision: undefined, error };
    }
    logOutcome(deps.log, outcome, { requestId, http, revision, started });
    return outcome;
  };
}

function logOutcome(
  log: Logger,
  outcome: CheckOutcome,
  ctx: { requestId: string; http: { method: string; host: string; path: string } | undefined; revision: string | undefined; started: bigint },
): void {
  const { decision, error } = outcome;
  const line = {
    request_id: ctx.requestId,
    method: ctx.http?.method,
    host: ctx.http?.host,
    // The path without its query: query values may carry secrets.
    path: ctx.http?.path.split('?', 1)[0],
    allowed: decision?.allowed ?? false,
    status: statusOf(outcome),
    reasons: decision?.reasons,
    policy_revision: ctx.revision,
    latency_us: Number((process.hrtime.bigint() - ctx.started) / 1000n),
  };
  if (error !== undefined) {
    log.warn({ ...line, code: error.code, err: error.cause ?? error }, 'check failed');
  } else {
    log.info(line, 'check');
  }
}

function statusOf(outcome: CheckOutcome): number {
  const r = outcome.response.httpResponse;
  if (r.case === 'okResponse') return 200;
  if (r.case === 'deniedResponse' || r.case === 'errorResponse') return r.value.status?.code ?? 403;
  return 403;
}

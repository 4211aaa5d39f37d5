/**
 * The Check path's observer: one decision log line, the Check metrics and the Check span per
 * request. Nothing here may fail a Check: every hook is guarded.
 */
import type { CheckObservation, CheckObserver, PolicyView } from '../check/handle.js';
import { statusOf } from '../check/handle.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { loggablePath, type DecisionLog, type DecisionRecord } from '../log/decision-log.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { decisionResult } from '../check/result.js';
import { parseTraceparent } from '../tracing/traceparent.js';
import type { Tracer } from '../tracing/tracer.js';

/** What the observer writes to. */
export interface CheckObserverOptions {
  readonly decisions: DecisionLog;
  readonly metrics: Metrics;
  readonly tracer: Tracer;
  /** For the observer's own failures (never expected). */
  readonly log: Logger;
}

/**
 * Build the observer.
 *
 * @example
 *   createCheckHandler({ policy, identity, log, observer: createCheckObserver({ decisions, metrics, tracer, log }) });
 */
export function createCheckObserver(options: CheckObserverOptions): CheckObserver {
  const { decisions, metrics, tracer, log } = options;
  return {
    begin(request, view): CheckObservation {
      const parent = parseTraceparent(view.headers['traceparent']);
      const route = request.attributes?.contextExtensions['route'];
      const span = tracer.enabled
        ? tracer.startCheck(parent, {
            'http.request.method': view.method,
            'server.address': view.host,
            'url.path': view.pathname,
            ...(view.requestId === '' ? {} : { 'gatehouse.request_id': view.requestId }),
            ...(route === undefined ? {} : { 'gatehouse.route': route }),
          })
        : undefined;
      return {
        run: (fn) => (span === undefined ? fn() : tracer.run(span, fn)),
        evaluate(policy: PolicyView, input: unknown): unknown {
          const child = span?.child('gatehouse.policy.evaluate', {
            'gatehouse.policy_revision': policy.revision,
          });
          const started = process.hrtime.bigint();
          try {
            return policy.evaluate(input);
          } catch (err) {
            child?.fail(GatehouseError.from(err).code);
            throw err;
          } finally {
            metrics.policyEvalDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
            child?.end();
          }
        },
        end(outcome, facts) {
          try {
            const status = statusOf(outcome);
            const allowed = outcome.response.httpResponse.case === 'okResponse';
            const code = outcome.error?.code;
            const result = decisionResult(outcome);
            metrics.checkDuration.observe(facts.latencyUs / 1e6);
            metrics.decisions.inc({
              result,
              status: String(status),
              route: metrics.routeLabel(route),
            });
            if (code !== undefined) metrics.countError(code);
            if (facts.identityError !== undefined) metrics.countError(facts.identityError.code);
            if (span !== undefined) {
              span.setAttributes({
                'http.response.status_code': status,
                'gatehouse.allowed': allowed,
                'gatehouse.handled_by': outcome.handledBy,
                ...(facts.revision === undefined
                  ? {}
                  : { 'gatehouse.policy_revision': facts.revision }),
              });
              if (code !== undefined) span.fail(code);
              span.end();
            }
            // Sampling and level first: a line that is not written is not built.
            if (!decisions.wants(allowed, code !== undefined)) return;
            const { identity } = outcome;
            const record: DecisionRecord = {
              request_id: view.requestId,
              decision_id: outcome.decisionId,
              trace_id: parent?.traceId ?? span?.traceId,
              span_id: span?.spanId ?? parent?.spanId,
              host: view.host,
              method: view.method,
              path: loggablePath(view.path, decisions.settings.includeQuery),
              route,
              sub: identity.authenticated ? identity.sub : undefined,
              email: identity.authenticated ? identity.email : undefined,
              auth: identity.authenticated ? identity.method : 'anonymous',
              allowed,
              result,
              status,
              reasons: outcome.decision?.reasons,
              policy_revision: facts.revision,
              latency_us: facts.latencyUs,
              code,
              identity_error: facts.identityError?.code,
              handled_by: outcome.handledBy,
              ...(decisions.withInput && outcome.input !== undefined
                ? { input: outcome.input }
                : {}),
            };
            decisions.write(record, outcome.error?.cause ?? outcome.error, true);
          } catch (err) {
            // Observability must never fail a Check; a bug here is logged, the answer stands.
            log.error({ err }, 'decision log or metrics failed');
          }
        },
      };
    },
  };
}

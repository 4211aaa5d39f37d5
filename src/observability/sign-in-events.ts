/**
 * The sign-in flow's subscribers: each turns a {@link SignInEvent} into what it is for — a log
 * line, a counter, a span attribute. They switch on the event's `type`; rewording a log line
 * cannot stop a counter.
 */
import type { SignInEvent, SignInEventRequest } from '../oidc/flow.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Tracer } from '../tracing/tracer.js';

/** One subscriber; must not throw. */
export type SignInSubscriber = (event: SignInEvent) => void;

/** Tell every subscriber, in order. */
export function signInEvents(subscribers: readonly SignInSubscriber[]): SignInSubscriber {
  return (event) => {
    for (const subscriber of subscribers) subscriber(event);
  };
}

function where(request: SignInEventRequest): { request_id: string; host: string } {
  return { request_id: request.requestId, host: request.host };
}

/**
 * The log lines operators know (docs/operations.md): `sign-in completed`, `sign-in failed`,
 * `sign-in handed off`, `signed out`, `end-session unavailable; signed out locally`, `session
 * refreshed`, `session refresh failed; signing in again`, `session re-validated`, `session
 * re-validation deferred: identity provider unavailable`. Starts are not logged: the Check's
 * decision line already says the browser was sent to sign in (or why it could not be).
 */
export function logSignInEvents(log: Logger): SignInSubscriber {
  return (event) => {
    switch (event.type) {
      case 'sign-in-completed':
        log.info({ sub: event.sub, ...where(event.request) }, 'sign-in completed');
        return;
      case 'sign-in-handed-off':
        log.info(
          { sub: event.sub, to_host: event.toHost, ...where(event.request) },
          'sign-in handed off',
        );
        return;
      case 'sign-in-failed':
        log.info({ code: event.code, ...where(event.request) }, 'sign-in failed');
        return;
      case 'end-session-unavailable':
        log.info(
          { code: event.code, ...where(event.request) },
          'end-session unavailable; signed out locally',
        );
        return;
      case 'signed-out':
        log.info(
          { sub: event.sub, idp_logout: event.idpLogout, ...where(event.request) },
          'signed out',
        );
        return;
      case 'session-refreshed':
        log.info({ sub: event.sub }, 'session refreshed');
        return;
      case 'session-refresh-failed':
        log.info({ code: event.code }, 'session refresh failed; signing in again');
        return;
      case 'session-revalidated':
        log.info({ sub: event.sub, via: event.via }, 'session re-validated');
        return;
      case 'session-revalidation-deferred':
        log.warn(
          { sub: event.sub, code: event.code, grace_until: event.graceUntil },
          'session re-validation deferred: identity provider unavailable',
        );
        return;
      case 'sign-in-started':
      case 'sign-in-start-failed':
      case 'session-refresh-unavailable':
        return;
    }
  };
}

/**
 * `gatehouse_sign_ins_total`, `gatehouse_session_refreshes_total` and `gatehouse_sign_outs_total`
 * (labels documented in docs/operations.md).
 */
export function countSignInEvents(metrics: Metrics): SignInSubscriber {
  return (event) => {
    switch (event.type) {
      case 'sign-in-started':
        metrics.signIns.inc({ stage: 'started', reason: event.reason });
        return;
      case 'sign-in-start-failed':
      case 'sign-in-failed':
        metrics.signIns.inc({ stage: 'failed', reason: event.code });
        return;
      case 'sign-in-completed':
        metrics.signIns.inc({ stage: 'completed', reason: 'session_issued' });
        return;
      case 'sign-in-handed-off':
        metrics.signIns.inc({ stage: 'completed', reason: 'handed_off' });
        return;
      case 'signed-out':
        metrics.signOuts.inc({ idp: String(event.idpLogout) });
        return;
      case 'session-refreshed':
        metrics.sessionRefreshes.inc({ result: 'success' });
        return;
      case 'session-refresh-failed':
        metrics.sessionRefreshes.inc({ result: 'failure' });
        return;
      case 'session-refresh-unavailable':
        metrics.sessionRefreshes.inc({ result: 'no_refresh_token' });
        return;
      case 'session-revalidated':
        metrics.sessionRefreshes.inc({ result: 'revalidated' });
        return;
      case 'session-revalidation-deferred':
        metrics.sessionRefreshes.inc({ result: 'deferred' });
        return;
      case 'end-session-unavailable':
        return;
    }
  };
}

/**
 * The event on the current span (the Check's): `gatehouse.sign_in.event` = its type, and
 * `gatehouse.sign_in.error_code` for a failure. The callback's and the refresh grant's own spans
 * are opened around those calls (src/server/identity.ts), since an event has no duration.
 */
export function traceSignInEvents(tracer: Tracer): SignInSubscriber {
  return (event) => {
    const span = tracer.current();
    if (span === undefined) return;
    span.setAttributes({
      'gatehouse.sign_in.event': event.type,
      ...('code' in event ? { 'gatehouse.sign_in.error_code': event.code } : {}),
    });
  };
}

/**
 * The sign-in flow's subscribers, fed events directly: metrics count by event type (never by a
 * log message) and the log lines keep the wording and fields operators know.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SignInEvent } from '../../../src/oidc/flow.js';
import { createLogger } from '../../../src/log/logger.js';
import { createMetrics } from '../../../src/metrics/metrics.js';
import {
  countSignInEvents,
  logSignInEvents,
  signInEvents,
  traceSignInEvents,
} from '../../../src/observability/sign-in-events.js';
import { NOOP_SPAN, NOOP_TRACER, type SpanAttributes } from '../../../src/tracing/tracer.js';

const request = { requestId: 'req-1', host: 'app.example.test' };
const EVENTS: readonly SignInEvent[] = [
  { type: 'sign-in-started', reason: 'unauthenticated', request },
  { type: 'sign-in-started', reason: 'sign_in_path', request },
  { type: 'sign-in-start-failed', code: 'ERR_OIDC_UNAVAILABLE', request },
  { type: 'sign-in-completed', sub: 'alice', request },
  { type: 'sign-in-handed-off', sub: 'alice', toHost: 'other.example.test', request },
  { type: 'sign-in-failed', code: 'ERR_OIDC_STATE_MISMATCH', request },
  { type: 'end-session-unavailable', code: 'ERR_OIDC_UNAVAILABLE', request },
  { type: 'signed-out', sub: 'alice', idpLogout: false, request },
  { type: 'session-refreshed', sub: 'alice' },
  { type: 'session-refresh-failed', code: 'ERR_OIDC_REFRESH_FAILED' },
  { type: 'session-refresh-unavailable' },
];

test('sign-in events: each type moves its own series', async () => {
  const metrics = createMetrics();
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level: 'info',
    destination: { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) },
  });
  const emit = signInEvents([logSignInEvents(log), countSignInEvents(metrics)]);
  for (const event of EVENTS) emit(event);
  const text = await metrics.registry.metrics();
  for (const series of [
    'gatehouse_sign_ins_total{stage="started",reason="unauthenticated"} 1',
    'gatehouse_sign_ins_total{stage="started",reason="sign_in_path"} 1',
    'gatehouse_sign_ins_total{stage="failed",reason="ERR_OIDC_UNAVAILABLE"} 1',
    'gatehouse_sign_ins_total{stage="completed",reason="session_issued"} 1',
    'gatehouse_sign_ins_total{stage="completed",reason="handed_off"} 1',
    'gatehouse_sign_ins_total{stage="failed",reason="ERR_OIDC_STATE_MISMATCH"} 1',
    'gatehouse_sign_outs_total{idp="false"} 1',
    'gatehouse_session_refreshes_total{result="success"} 1',
    'gatehouse_session_refreshes_total{result="failure"} 1',
    'gatehouse_session_refreshes_total{result="no_refresh_token"} 1',
  ])
    assert.ok(text.includes(series), series);

  const fields = lines.map(({ msg, sub, code, to_host, idp_logout, request_id, host }) => ({
    msg,
    ...(sub === undefined ? {} : { sub }),
    ...(code === undefined ? {} : { code }),
    ...(to_host === undefined ? {} : { to_host }),
    ...(idp_logout === undefined ? {} : { idp_logout }),
    ...(request_id === undefined ? {} : { request_id, host }),
  }));
  const where = { request_id: 'req-1', host: 'app.example.test' };
  assert.deepEqual(fields, [
    { msg: 'sign-in completed', sub: 'alice', ...where },
    { msg: 'sign-in handed off', sub: 'alice', to_host: 'other.example.test', ...where },
    { msg: 'sign-in failed', code: 'ERR_OIDC_STATE_MISMATCH', ...where },
    { msg: 'end-session unavailable; signed out locally', code: 'ERR_OIDC_UNAVAILABLE', ...where },
    { msg: 'signed out', sub: 'alice', idp_logout: false, ...where },
    { msg: 'session refreshed', sub: 'alice' },
    { msg: 'session refresh failed; signing in again', code: 'ERR_OIDC_REFRESH_FAILED' },
  ]);
});

test('sign-in events: the current span gets the event type, and the code of a failure', () => {
  const set: SpanAttributes[] = [];
  const span = { ...NOOP_SPAN, setAttributes: (a: SpanAttributes) => set.push(a) };
  const trace = traceSignInEvents({ ...NOOP_TRACER, enabled: true, current: () => span });
  trace({ type: 'sign-in-completed', sub: 'alice', request });
  trace({ type: 'sign-in-failed', code: 'ERR_OIDC_STATE_MISMATCH', request });
  assert.deepEqual(set, [
    { 'gatehouse.sign_in.event': 'sign-in-completed' },
    {
      'gatehouse.sign_in.event': 'sign-in-failed',
      'gatehouse.sign_in.error_code': 'ERR_OIDC_STATE_MISMATCH',
    },
  ]);
  // Outside a Check (no current span): nothing to annotate, nothing thrown.
  traceSignInEvents(NOOP_TRACER)({ type: 'session-refresh-unavailable' });
});

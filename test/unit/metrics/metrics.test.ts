import assert from 'node:assert/strict';
import { test } from 'node:test';
import { register } from 'prom-client';
import {
  CHECK_BUCKETS,
  MAX_ROUTES,
  OTHER_ROUTE,
  createMetrics,
} from '../../../src/metrics/metrics.js';

test('each metric set has its own registry, never the global one', async () => {
  const a = createMetrics();
  const b = createMetrics();
  a.decisions.inc({ result: 'allowed', status: '200', route: '' });
  assert.match(
    await a.registry.metrics(),
    /gatehouse_decisions_total\{result="allowed",status="200",route=""\} 1/,
  );
  assert.doesNotMatch(await b.registry.metrics(), /gatehouse_decisions_total\{/);
  assert.equal(register.getSingleMetric('gatehouse_decisions_total'), undefined);
});

test('route labels are capped: beyond MAX_ROUTES distinct routes, counted as _other', () => {
  const m = createMetrics();
  for (let i = 0; i < MAX_ROUTES; i++) assert.equal(m.routeLabel(`r${i}`), `r${i}`);
  assert.equal(m.routeLabel('one-too-many'), OTHER_ROUTE);
  assert.equal(m.routeLabel('r0'), 'r0', 'known routes keep their label');
  assert.equal(m.routeLabel(undefined), '');
  assert.equal(createMetrics().routeLabel('x'.repeat(500)).length, 64, 'long names are cut');
});

test('error codes are bounded to documented codes; the revision gauge holds one revision', async () => {
  const m = createMetrics();
  m.countError('ERR_POLICY_EVAL');
  m.countError('made up by someone');
  m.setRevision('rev-1');
  m.setRevision('rev-2');
  const text = await m.registry.metrics();
  assert.match(text, /gatehouse_errors_total\{code="ERR_POLICY_EVAL"\} 1/);
  assert.match(text, /gatehouse_errors_total\{code="ERR_INTERNAL"\} 1/);
  assert.doesNotMatch(text, /revision="rev-1"/);
  assert.match(text, /gatehouse_policy_revision_info\{revision="rev-2"\} 1/);
  assert.equal(CHECK_BUCKETS[0], 0.00005);
  assert.equal(CHECK_BUCKETS.at(-1), 1);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Readiness } from '../../../src/health/readiness.js';
import { startHttpListener } from '../../../src/http/server.js';
import { HealthState, ServingStatus } from '../../../src/wire/health.js';

async function until(check: () => boolean, ms = 2000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

test('the gRPC health status follows the session store without anyone asking /readyz', async () => {
  const health = new HealthState();
  let store: 'live' | 'stale' | 'unavailable' = 'live';
  const readiness = new Readiness({
    health,
    policyLoaded: () => true,
    identityProvider: () => ({ state: 'ready' }),
    sessionStore: () => store,
    pollMs: 10,
  });
  readiness.watch();
  assert.equal(health.status(''), ServingStatus.SERVING);
  store = 'unavailable';
  assert.ok(
    await until(() => health.status('') === ServingStatus.NOT_SERVING),
    'Envoy sees NOT_SERVING once the store is unavailable',
  );
  store = 'live';
  assert.ok(
    await until(() => health.status('') === ServingStatus.SERVING),
    'and SERVING again once it is back',
  );
  readiness.drain();
  assert.equal(health.status(''), ServingStatus.NOT_SERVING);
});

test('without a session store, readiness stops polling once ready', async () => {
  const health = new HealthState();
  let calls = 0;
  const readiness = new Readiness({
    health,
    policyLoaded: () => {
      calls++;
      return true;
    },
    identityProvider: () => undefined,
    pollMs: 10,
  });
  readiness.watch();
  const after = calls;
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(calls, after, 'no timer left behind');
  assert.equal(health.status(''), ServingStatus.SERVING);
});

test('/readyz reports what the session cache serves (session_store), as documented', async (t) => {
  let store: 'live' | 'stale' | 'unavailable' = 'stale';
  const listener = await startHttpListener({
    address: '127.0.0.1',
    port: 0,
    readiness: () => ({
      ready: store !== 'unavailable',
      policy: 'loaded',
      identity_provider: 'ready',
      session_store: store,
      draining: false,
    }),
  });
  t.after(() => listener.close());
  const readyz = async () => {
    const res = await fetch(`http://127.0.0.1:${listener.port}/readyz`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const stale = await readyz();
  assert.equal(stale.status, 200);
  assert.equal(stale.body['session_store'], 'stale');
  store = 'unavailable';
  const unavailable = await readyz();
  assert.equal(unavailable.status, 503);
  assert.equal(unavailable.body['session_store'], 'unavailable');
});

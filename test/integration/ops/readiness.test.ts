import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startIdp } from '../../../demo/idp/start.js';
import { ServingStatus } from '../../../src/wire/health.js';
import { connect } from '../../support/grpc-client.js';
import { freePort } from '../../support/ports.js';
import { requireTool } from '../../support/tools.js';
import { configDoc, get, policyDir, startFromFile, until, writeConfig } from './support.js';

async function readyz(port: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const { status, text } = await get(port, '/readyz');
  return { status, body: JSON.parse(text) as Record<string, unknown> };
}

test('not ready while the policy loads; ready once it has', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  // An opa that takes 1.5 s to compile: the listeners are up, the policy is not yet.
  const bin = mkdtempSync(join(tmpdir(), 'gatehouse-slow-opa-'));
  const slowOpa = join(bin, 'opa');
  writeFileSync(slowOpa, `#!/bin/sh\nsleep 1.5\nexec "${opa}" "$@"\n`);
  chmodSync(slowOpa, 0o755);
  const httpPort = await freePort();
  const starting = startFromFile(
    writeConfig(
      configDoc(policyDir(), slowOpa, { http: { address: '127.0.0.1', port: httpPort } }),
    ),
  );
  try {
    let seen: { status: number; body: Record<string, unknown> } | undefined;
    await until(
      async () => {
        seen = await readyz(httpPort).catch(() => undefined);
        return seen !== undefined;
      },
      5000,
      'the HTTP listener',
    );
    assert.equal(seen?.status, 503);
    assert.equal(seen?.body['policy'], 'loading');
    assert.equal((await get(httpPort, '/healthz')).status, 200, 'alive while loading');
  } finally {
    const { gatehouse } = await starting;
    try {
      const ready = await readyz(httpPort);
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.body, {
        status: 'ready',
        policy: 'loaded',
        identity_provider: 'not configured',
        draining: false,
      });
    } finally {
      await gatehouse.stop();
    }
  }
});

test('not ready until the identity provider, down at start, has been discovered', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const idpPort = await freePort();
  const doc = configDoc(policyDir(), opa, {
    development: true,
    identity: {
      issuer: `http://127.0.0.1:${idpPort}`,
      client_id: 'gatehouse-ops',
      client_secret: 'ops-secret-0123456789',
    },
  });
  const { gatehouse } = await startFromFile(writeConfig(doc));
  const client = connect(gatehouse.grpcPort);
  let idp: Awaited<ReturnType<typeof startIdp>> | undefined;
  try {
    const down = await readyz(gatehouse.httpPort);
    assert.equal(down.status, 503);
    assert.equal(down.body['policy'], 'loaded');
    assert.equal(down.body['identity_provider'], 'pending');
    assert.equal((await client.health()).status, ServingStatus.NOT_SERVING, 'gRPC health agrees');

    idp = await startIdp({
      port: idpPort,
      clients: [
        {
          client_id: 'gatehouse-ops',
          client_secret: 'ops-secret-0123456789',
          redirect_uris: ['https://app.example.test/.gatehouse/callback'],
        },
      ],
    });
    await until(
      async () => (await readyz(gatehouse.httpPort)).status === 200,
      15_000,
      'readiness after the IdP came up',
    );
    assert.equal((await readyz(gatehouse.httpPort)).body['identity_provider'], 'ready');
    assert.equal((await client.health()).status, ServingStatus.SERVING);
  } finally {
    client.close();
    await gatehouse.stop();
    await idp?.stop();
  }
});

test('not ready while draining on SIGTERM, though still answering', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const doc = configDoc(policyDir(), opa, {
    grpc: { address: '127.0.0.1', port: 0, drain_delay_ms: 1500, shutdown_grace_ms: 500 },
  });
  const { gatehouse } = await startFromFile(writeConfig(doc));
  const client = connect(gatehouse.grpcPort);
  try {
    assert.equal((await readyz(gatehouse.httpPort)).status, 200);
    assert.equal((await client.health()).status, ServingStatus.SERVING);
    const stopped = gatehouse.stop();
    const draining = await readyz(gatehouse.httpPort);
    assert.equal(draining.status, 503);
    assert.equal(draining.body['draining'], true);
    assert.equal((await client.health()).status, ServingStatus.NOT_SERVING);
    assert.equal((await get(gatehouse.httpPort, '/healthz')).status, 200, 'alive while draining');
    await stopped;
  } finally {
    client.close();
    await gatehouse.stop();
  }
});

/** With workers > 1 the primary's /readyz carries a worker's last identity provider error too. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { exportPKCS8, generateKeyPair } from 'jose';
import { freePort } from '../../support/ports.js';
import { requireTool } from '../../support/tools.js';
import { get, startCluster, until } from './support.js';

test("a cluster primary's /readyz shows the identity provider's last discovery error", async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cluster-idp-'));
  const keyFile = join(dir, 'signing.pem');
  writeFileSync(
    keyFile,
    await exportPKCS8((await generateKeyPair('ES256', { extractable: true })).privateKey),
    { mode: 0o600 },
  );
  const secretFile = join(dir, 'session-secret');
  writeFileSync(secretFile, randomBytes(32).toString('base64url'), { mode: 0o600 });
  // Nothing listens at the issuer: discovery fails in every worker.
  const issuer = `http://127.0.0.1:${await freePort()}`;
  const cluster = await startCluster(opa, {
    workers: 2,
    config: {
      development: true,
      keys: { signing: [keyFile] },
      session: { secret: { file: secretFile } },
      identity: { issuer, client_id: 'gatehouse', client_secret: 'cluster-secret-0123456789' },
    },
  });
  t.after(() => cluster.kill());
  let body: Record<string, unknown> = {};
  await until(
    async () => {
      const res = await get(cluster.httpPort, '/readyz');
      body = res?.json ?? {};
      return typeof body['identity_provider_error'] === 'string';
    },
    15_000,
    'the error in the primary /readyz',
  );
  assert.equal(body['status'], 'not ready');
  assert.equal(body['identity_provider'], 'pending');
  assert.match(String(body['identity_provider_error']), /ECONNREFUSED|fetch failed/);
  // Log lines are flushed within 1 s (src/log/logger.ts): /readyz can be faster than the line.
  await until(
    () => cluster.lines.some((l) => l.msg === 'identity provider discovery failed; retrying'),
    5_000,
    'the workers log it',
  );
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import { diffConfig } from '../../../src/config/reload.js';

const BASE = 'policy:\n  bundle: b.tar.gz\n';

test('log and policy changes apply live; listeners, identity, keys and tracing need a restart', () => {
  const before = parseConfig(BASE, '/etc/gatehouse');
  const after = parseConfig(
    `policy:\n  bundle: other.tar.gz\n  entrypoint: app/allow\nlog:\n  level: debug\n  sample_allowed: 0.5\ngrpc:\n  port: 9999\nhttp:\n  port: 1\ndevelopment: true\nidentity:\n  issuer: https://idp\n  client_id: g\ntracing:\n  otlp_endpoint: http://c/v1/traces\n`,
    '/etc/gatehouse',
  );
  const diff = diffConfig(before, after);
  assert.deepEqual(diff.live, [
    'log.level',
    'log.sample_allowed',
    'policy.bundle',
    'policy.entrypoint',
  ]);
  assert.ok(
    diff.restart.includes('grpc.port') &&
      diff.restart.includes('http.port') &&
      diff.restart.includes('development'),
  );
  assert.ok(
    diff.restart.includes('identity.issuer') && diff.restart.includes('tracing.otlp_endpoint'),
  );
});

test('an unchanged configuration has no diff', () => {
  assert.deepEqual(diffConfig(parseConfig(BASE, '/x'), parseConfig(BASE, '/x')), {
    live: [],
    restart: [],
  });
});

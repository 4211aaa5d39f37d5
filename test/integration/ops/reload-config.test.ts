import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { connect, httpRequest } from '../../support/grpc-client.js';
import { requireTool } from '../../support/tools.js';
import { configDoc, policyDir, startFromFile, until, writeConfig } from './support.js';

test('SIGHUP re-reads the config: log and policy settings apply live, restart-only keys are refused, bad files are refused', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const base = configDoc(policyDir(), opa);
  const file = writeConfig(base);
  const { gatehouse, logs } = await startFromFile(file);
  const client = connect(gatehouse.grpcPort);
  const line = (id: string) => logs.lines.find((l) => l['request_id'] === id);
  try {
    const firstRevision = gatehouse.policy.current()?.revision;

    // 1. Sampling off for allowed decisions (live) and a new gRPC port (needs a restart).
    writeConfig(
      {
        ...base,
        log: { level: 'info', sample_allowed: 0 },
        grpc: { ...(base['grpc'] as object), port: 1234 },
      },
      file,
    );
    const first = await gatehouse.reload();
    assert.deepEqual(first.applied, ['log.sample_allowed']);
    assert.deepEqual(first.refused, ['grpc.port']);
    assert.equal(first.policy.ok, true);
    const refusal = logs.lines.find((l) => l['level'] === 'error' && Array.isArray(l['refused']));
    assert.deepEqual(refusal?.['refused'], ['grpc.port']);
    assert.equal(refusal?.['policy_revision'], firstRevision, 'logged with the revision');
    await client.check(
      httpRequest({ path: '/public/a', headers: { 'x-request-id': 'sampled-out' } }),
    );
    await client.check(httpRequest({ path: '/private', headers: { 'x-request-id': 'deny-kept' } }));
    await until(() => line('deny-kept') !== undefined, 5000, 'the deny line');
    assert.equal(line('sampled-out'), undefined, 'sample_allowed: 0 drops allowed decisions');

    // 2. A new entrypoint: loaded off to the side and swapped in.
    writeConfig(
      { ...base, policy: { ...(base['policy'] as object), entrypoint: 'envoy/authz/alternative' } },
      file,
    );
    const second = await gatehouse.reload();
    assert.equal(second.policy.ok, true);
    assert.deepEqual(
      second.applied,
      ['log.sample_allowed', 'policy.entrypoint'],
      'sample_allowed returns to its default too',
    );
    assert.deepEqual(second.refused, []);
    const allowed = await client.check(httpRequest({ path: '/private' }));
    assert.equal(allowed.httpResponse.case, 'okResponse', 'the new entrypoint decides');

    // 3. An entrypoint the policy lacks: refused naming the key; the running policy stays.
    writeConfig(
      { ...base, policy: { ...(base['policy'] as object), entrypoint: 'envoy/authz/nope' } },
      file,
    );
    const third = await gatehouse.reload();
    assert.equal(third.policy.ok, false);
    assert.ok(
      !third.policy.ok &&
        third.policy.error.code === 'ERR_POLICY_ENTRYPOINT' &&
        third.policy.error.message.startsWith('policy.entrypoint:'),
    );
    assert.equal(
      (await client.check(httpRequest({ path: '/private' }))).httpResponse.case,
      'okResponse',
      'still the alternative entrypoint',
    );

    // 4. An invalid file: refused whole, nothing changes, Gatehouse keeps running.
    writeFileSync(file, 'policy:\n  dirr: x\n');
    const fourth = await gatehouse.reload();
    assert.equal(fourth.configError?.code, 'ERR_CONFIG_INVALID');
    assert.match(fourth.configError?.message ?? '', /policy\.dirr: unknown key/);
    assert.equal(
      (await client.check(httpRequest({ path: '/private' }))).httpResponse.case,
      'okResponse',
    );
  } finally {
    client.close();
    await gatehouse.stop();
  }
});

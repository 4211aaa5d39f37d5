/**
 * `policy.rego_version` end to end through a started Gatehouse: a Rego v0 policy (the Envoy
 * tutorial's, in the OPA-Envoy plugin's v0 style) serves with `rego_version: v0` and refuses to
 * start without it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasCode } from '../../../src/errors/gatehouse-error.js';
import { requireTool } from '../../support/tools.js';
import { configDoc, startFromFile, writeConfig } from '../ops/support.js';
import { fixture } from './support.js';

// The OPA docs Envoy tutorial's guest token (HS256, secret "secret", valid until 2041).
const ALICE =
  'eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJleHAiOiAyMjQxMDgxNTM5LCAibmJmIjogMTUxNDg1MTEzOSwgInJvbGUiOiAiZ3Vlc3QiLCAic3ViIjogIllXeHBZMlU9In0.Uk5hgUqMuUfDLvBLnlXMD0-X53aM_Hlziqg3vhOsCc8';
const input = (method: string): unknown => ({
  attributes: {
    request: { http: { method, path: '/people', headers: { authorization: `Bearer ${ALICE}` } } },
  },
});

test('policy.rego_version: v0 serves a v0 policy; without it the start fails with opa’s parse error', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const dir = fixture('envoy-tutorial-v0');

  const { gatehouse } = await startFromFile(
    writeConfig(configDoc(dir, opa, { policy: { dir, opa, watch: false, rego_version: 'v0' } })),
  );
  try {
    const policy = gatehouse.policy.current();
    assert.ok(policy !== undefined);
    assert.equal(policy.evaluate(input('GET')), true, 'the guest may list people');
    assert.equal(policy.evaluate(input('POST')), false, 'the guest may not create people');
  } finally {
    await gatehouse.stop();
  }

  await assert.rejects(startFromFile(writeConfig(configDoc(dir, opa))), (err: unknown) => {
    assert.ok(hasCode(err, 'ERR_POLICY_COMPILE'), String(err));
    assert.match((err as Error).message, /rego_parse_error/);
    return true;
  });
});

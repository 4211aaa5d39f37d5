/**
 * The OPA documentation's Envoy tutorial policy (JWT RBAC with `io.jwt.decode_verify`), fed
 * unchanged, decides as `opa eval` does for the tutorial's requests; the same policy in Rego v0
 * syntax loads with `regoVersion: 'v0'` (config `policy.rego_version: v0`) and only then.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { hasCode } from '../../../src/errors/gatehouse-error.js';
import { DEFAULT_ENTRYPOINT, loadPolicy } from '../../../src/policy/load.js';
import { requireTool } from '../../support/tools.js';
import { fixture, opaEval } from './support.js';

// The tutorial's tokens: HS256 with secret "secret", nbf 2018, exp 2041.
const ALICE =
  'eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJleHAiOiAyMjQxMDgxNTM5LCAibmJmIjogMTUxNDg1MTEzOSwgInJvbGUiOiAiZ3Vlc3QiLCAic3ViIjogIllXeHBZMlU9In0.Uk5hgUqMuUfDLvBLnlXMD0-X53aM_Hlziqg3vhOsCc8';
const BOB =
  'eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJleHAiOiAyMjQxMDgxNTM5LCAibmJmIjogMTUxNDg1MTEzOSwgInJvbGUiOiAiYWRtaW4iLCAic3ViIjogIlltOWkifQ.5qsm7rRTvqFHAgiB6evX0a_hWnGbWquZC0HImVQPQo8';
const FORGED = `${BOB.slice(0, BOB.lastIndexOf('.'))}.${'A'.repeat(43)}`;

const request = (
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
): unknown => ({
  attributes: {
    request: {
      http: {
        method,
        path,
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      },
    },
  },
  ...(body === undefined ? {} : { parsed_body: body }),
});

// [name, input, the tutorial's outcome]
const CASES: ReadonlyArray<[string, unknown, boolean]> = [
  ['Alice (guest) lists people', request('GET', '/people', ALICE), true],
  ['Bob (admin) lists people', request('GET', '/people', BOB), true],
  [
    'Alice (guest) cannot create people',
    request('POST', '/people', ALICE, { firstname: 'Foo', lastname: 'Bar' }),
    false,
  ],
  [
    'Bob (admin) creates people',
    request('POST', '/people', BOB, { firstname: 'Foo', lastname: 'Bar' }),
    true,
  ],
  [
    'Bob cannot create a person with his own name',
    request('POST', '/people', BOB, { firstname: 'Bob', lastname: 'Bar' }),
    false,
  ],
  ['no token', request('GET', '/people', undefined), false],
  ['a token with a forged signature', request('GET', '/people', FORGED), false],
];

// 2025-01-01T00:00:00Z: inside the tokens' nbf/exp window.
const clock = (): bigint => 1_735_689_600_000_000_000n;

describe('the OPA docs Envoy tutorial policy', () => {
  test('loads (Rego v1) and decides as the tutorial and opa eval do', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const dir = fixture('envoy-tutorial');
    const policy = await loadPolicy({ dir, entrypoint: DEFAULT_ENTRYPOINT, opaPath: opa, clock });
    assert.ok(policy.builtinsRequired.includes('io.jwt.decode_verify'));
    for (const [name, input, outcome] of CASES) {
      assert.equal(policy.evaluate(input), outcome, name);
      assert.equal(
        await opaEval(opa, 'data.envoy.authz.allow', [join(dir, 'policy.rego')], input),
        outcome,
        `opa eval: ${name}`,
      );
    }
  });

  test('an expired token is refused (the clock reaches the builtin)', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const late = (): bigint => 2_241_081_539_000_000_000n; // the tokens' exp
    const policy = await loadPolicy({
      dir: fixture('envoy-tutorial'),
      entrypoint: DEFAULT_ENTRYPOINT,
      opaPath: opa,
      clock: late,
    });
    assert.equal(policy.evaluate(request('GET', '/people', ALICE)), false);
  });

  test('in Rego v0 syntax it loads with regoVersion v0 and decides the same', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const dir = fixture('envoy-tutorial-v0');
    const policy = await loadPolicy({
      dir,
      entrypoint: DEFAULT_ENTRYPOINT,
      opaPath: opa,
      clock,
      regoVersion: 'v0',
    });
    for (const [name, input, outcome] of CASES) assert.equal(policy.evaluate(input), outcome, name);
  });

  test('in Rego v0 syntax it is refused under the default v1 with opa’s parse error', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    await assert.rejects(
      loadPolicy({
        dir: fixture('envoy-tutorial-v0'),
        entrypoint: DEFAULT_ENTRYPOINT,
        opaPath: opa,
      }),
      (err: unknown) => {
        assert.ok(hasCode(err, 'ERR_POLICY_COMPILE'), String(err));
        assert.match((err as Error).message, /rego_parse_error/);
        return true;
      },
    );
  });
});

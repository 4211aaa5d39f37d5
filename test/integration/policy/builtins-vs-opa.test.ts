/**
 * Conformance: each host builtin, evaluated inside a wasm policy by Gatehouse, must give what
 * the real `opa eval` gives for the same expression (undefined included). The cases live in
 * ./builtin-cases/, one module per family; a drift test requires every builtin the host
 * provides to be called by them.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { readBundle } from '../../../src/policy/bundle.js';
import { HOST_BUILTINS } from '../../../src/policy/builtins/index.js';
import { loadPolicyFromBundle, type LoadedPolicy } from '../../../src/policy/load.js';
import { findTool } from '../../support/tools.js';
import {
  CASES,
  KNOWN_BUILTIN_REASONS,
  KNOWN_DIFFERENCE_IDS,
  KNOWN_DIFFERENCES,
} from './builtin-cases/index.js';
import { buildBundle, opaEval, regoDir } from './support.js';

/** Host builtins OPA's wasm compiler implements inside the module, so the host's is never called. */
const COMPILED_IN: readonly string[] = ['json.is_valid'];

const key = (i: number): string => String(i).padStart(4, '0');

describe('host builtins agree with opa eval', () => {
  let opa: string | undefined;
  let policy: LoadedPolicy;
  let expected: Record<string, unknown>;
  let actual: Record<string, unknown>;

  before(async () => {
    opa = findTool('opa');
    if (opa === undefined) return;
    const rules = CASES.map((expr, i) => `r["${key(i)}"] := ${expr}`).join('\n');
    const dir = await regoDir(`package t\n\nimport rego.v1\n\n${rules}\n`);
    policy = await loadPolicyFromBundle(readBundle(await buildBundle(opa, dir, ['t/r'])), {
      entrypoint: 't/r',
    });
    actual = policy.evaluate({}) as Record<string, unknown>;
    expected = (await opaEval(opa, 'data.t.r', [join(dir, 'policy.rego')])) as Record<
      string,
      unknown
    >;
  });

  CASES.forEach((expr, i) => {
    const todo = KNOWN_DIFFERENCES.get(expr);
    test(
      expr.length > 110 ? `${key(i)} ${expr.slice(0, 102)}...` : `${key(i)} ${expr}`,
      todo === undefined ? {} : { todo },
      (t) => {
        if (opa === undefined) {
          if (process.env['CI'] === 'true')
            throw new Error('opa not found (CI=true: not skipping)');
          t.skip('opa not found: run `bash scripts/install-tools.sh`');
          return;
        }
        assert.deepEqual(
          actual[key(i)],
          expected[key(i)],
          `${expr}: gatehouse ${JSON.stringify(actual[key(i)])} vs opa ${JSON.stringify(expected[key(i)])}`,
        );
      },
    );
  });

  test('every builtin the host provides is called by a differential case', (t) => {
    if (opa === undefined) {
      if (process.env['CI'] === 'true') throw new Error('opa not found (CI=true: not skipping)');
      return t.skip('opa not found');
    }
    // The module imports exactly the host builtins its cases call, so this is the real list.
    const uncovered = [...HOST_BUILTINS]
      .filter((name) => !policy.builtinsRequired.includes(name) && !COMPILED_IN.includes(name))
      .sort();
    assert.deepEqual(
      uncovered,
      [],
      `host builtins without a differential case: ${uncovered.join(', ')}`,
    );
    for (const name of ['net.cidr_contains', ...COMPILED_IN])
      assert.ok(!policy.builtinsRequired.includes(name), `${name} is compiled into the module`);
  });

  test('every builtins entry of known-differences.json is used by a case, with a reason', () => {
    const used = new Set(KNOWN_DIFFERENCE_IDS.values());
    const unused = [...KNOWN_BUILTIN_REASONS.keys()].filter((id) => !used.has(id));
    assert.deepEqual(unused, [], `unused builtins entries in known-differences.json: ${unused}`);
    for (const [id, reason] of KNOWN_BUILTIN_REASONS)
      assert.ok(reason.trim() !== '', `known difference ${id} without a reason`);
    for (const expr of KNOWN_DIFFERENCE_IDS.keys())
      assert.ok(CASES.includes(expr), `known difference for a case that does not exist: ${expr}`);
  });

  test('no case is undefined on both sides unless it is meant to be', (t) => {
    if (opa === undefined) return t.skip('opa not found');
    // A case both sides leave undefined proves little; it must be an error case by intent, and
    // at least most cases must produce a value.
    const defined = CASES.filter((_, i) => expected[key(i)] !== undefined).length;
    assert.ok(
      defined >= CASES.length * 0.6,
      `only ${defined} of ${CASES.length} cases are defined in opa`,
    );
  });
});

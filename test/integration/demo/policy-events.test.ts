/**
 * The demo's terminal lines about the policy (issue 11, point 3), from the log lines a real
 * Gatehouse writes when a real `opa build` refuses an edit and when a good edit reloads.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { policyEventLines, regoProblems } from '../../../demo/policy-events.js';
import { startTestGatehouse } from '../../support/gatehouse.js';
import { requireTool } from '../../support/tools.js';
import { policyDir } from '../ops/support.js';

test('a refused edit: file, line and message in plain words, and the revision still serving; a good edit: the new revision', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const dir = policyDir();
  const { gatehouse, logs } = await startTestGatehouse({ dir, opa, watch: false });
  t.after(() => gatehouse.stop());
  const serving = gatehouse.policy.current()?.revision ?? '';

  writeFileSync(
    join(dir, 'authz.rego'),
    'package envoy.authz\n\nimport rego.v1\n\ndefault allow := false\n\nallow if {\n',
  );
  await gatehouse.reload();
  const refused = logs.lines.find(
    (l) => l['msg'] === 'policy reload refused; the last good policy keeps serving',
  );
  assert.ok(refused, 'the refusal is logged');
  const lines = policyEventLines(refused, dir);
  assert.equal(lines[0], 'policy edit refused (1 problem):');
  assert.match(lines[1] ?? '', /^ {2}authz\.rego, line \d+: rego_parse_error: /);
  assert.equal(lines[2], `  still serving revision ${serving.slice(0, 19)}…`);
  assert.doesNotMatch(lines.join('\n'), /\bat |Error:|\\n/, 'no stack, no escaped newlines');

  writeFileSync(
    join(dir, 'authz.rego'),
    'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n',
  );
  await gatehouse.reload();
  const loaded = logs.lines.filter((l) => l['msg'] === 'policy loaded').at(-1);
  assert.ok(loaded);
  // `default allow := true` reads nothing of input: nothing of it is handed to the module.
  assert.deepEqual(loaded['policy_input'], []);
  const next = gatehouse.policy.current()?.revision ?? '';
  assert.notEqual(next, serving);
  assert.deepEqual(policyEventLines(loaded, dir), [
    `policy reloaded: now serving revision ${next.slice(0, 19)}… (was ${serving.slice(0, 19)}…)`,
  ]);
});

test("the start's own load and unrelated lines say nothing; several Rego problems are each listed", () => {
  assert.deepEqual(
    policyEventLines({ msg: 'policy loaded', trigger: 'start', policy_revision: 'sha256:x' }, '/r'),
    [],
  );
  assert.deepEqual(policyEventLines({ msg: 'check', allowed: false }, '/r'), []);
  const text =
    '2 errors occurred:\n/r/policies/authz.rego:3: rego_type_error: undefined function foo\n/r/policies/more.rego:9:4: rego_unsafe_var_error: var x is unsafe\n';
  assert.deepEqual(regoProblems(text, '/r'), [
    { file: 'policies/authz.rego', line: 3, message: 'rego_type_error: undefined function foo' },
    { file: 'policies/more.rego', line: 9, message: 'rego_unsafe_var_error: var x is unsafe' },
  ]);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { repoPath } from '../../support/paths.js';
import { requireTool } from '../../support/tools.js';
import { runOpa } from './support.js';

test('the example policies pass `opa test policies/ -v`', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const out = await runOpa(opa, ['test', repoPath('policies'), '--ignore', 'build', '-v']);
  assert.match(out, /PASS: \d+\/\d+/);
  assert.doesNotMatch(out, /FAIL|ERROR/);
});

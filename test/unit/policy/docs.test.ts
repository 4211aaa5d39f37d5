import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { GATEHOUSE_BUILTINS, SDK_BUILTINS } from '../../../src/policy/builtins/index.js';
import { repoPath } from '../../support/paths.js';

test('docs/reference/policy.md lists exactly the builtins the host provides', () => {
  const doc = readFileSync(repoPath('docs', 'reference', 'policy.md'), 'utf8');
  const section = /<!-- builtins:start[^>]*-->([\s\S]*?)<!-- builtins:end -->/.exec(doc)?.[1] ?? '';
  const documented = [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]).sort();
  assert.deepEqual(documented, [...new Set([...GATEHOUSE_BUILTINS, ...SDK_BUILTINS])].sort());
});

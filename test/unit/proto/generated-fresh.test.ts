import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

import { repoPath, repoRoot } from '../../support/paths.js';

// Drift test: src/gen is checked in, so a proto edit without `npm run gen` must fail the suite.
test('src/gen is exactly what buf generate produces from proto/', () => {
  const result = spawnSync(process.execPath, [repoPath('scripts', 'check-generated.mjs')], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(result.error, undefined, String(result.error));
  assert.equal(result.status, 0, `gen:check failed:\n${result.stdout}${result.stderr}`);
});

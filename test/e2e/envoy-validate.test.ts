import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoPath } from '../support/paths.js';
import { requireTool } from '../support/tools.js';

const run = promisify(execFile);
const envoyDir = repoPath('envoy');
const configs = readdirSync(envoyDir).filter(
  (name) => name.endsWith('.yaml') || name.endsWith('.yml'),
);

test('envoy/ ships at least one config', () => {
  assert.ok(configs.length > 0, 'no *.yaml in envoy/');
});

for (const name of configs) {
  test(`envoy/${name} passes envoy --mode validate`, async (t) => {
    const envoy = requireTool(t, 'envoy');
    if (envoy === undefined) return;
    const file = join(envoyDir, name);
    // validate mode builds the whole server config (listeners, clusters, filters) without binding.
    const { stdout, stderr } = await run(
      envoy,
      ['--mode', 'validate', '-c', file, '--disable-hot-restart', '--log-level', 'warn'],
      { timeout: 60_000 },
    ).catch((err: unknown) => {
      const e = err as { stdout?: string; stderr?: string; message?: string };
      assert.fail(`envoy rejected ${name}:\n${e.stdout ?? ''}${e.stderr ?? e.message ?? ''}`);
    });
    assert.match(stdout + stderr, /configuration '.*' OK/);
  });
}

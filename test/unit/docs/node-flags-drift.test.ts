import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { missingNodeFlags, NODE_FLAGS } from '../../../src/server/node-flags.js';
import { repoPath } from '../../support/paths.js';

test('the Dockerfile ENTRYPOINT, the bin shebang and npm start launch Gatehouse with NODE_FLAGS', () => {
  const dockerfile = readFileSync(repoPath('Dockerfile'), 'utf8');
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
  assert.ok(entrypoint, 'the Dockerfile has a JSON-form ENTRYPOINT');
  assert.deepEqual(JSON.parse(entrypoint) as string[], [
    'node',
    ...NODE_FLAGS,
    '/app/dist/src/cli/main.js',
  ]);

  const shebang = readFileSync(repoPath('src', 'cli', 'main.ts'), 'utf8').split('\n')[0];
  assert.equal(shebang, `#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}`);

  const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  assert.equal(pkg.scripts['start'], `node ${NODE_FLAGS.join(' ')} dist/src/cli/main.js serve`);
});

test('Node accepts NODE_FLAGS, and a process started with them reports none missing', () => {
  const module = new URL('../../../src/server/node-flags.js', import.meta.url).href;
  const script = `const { missingNodeFlags } = await import(${JSON.stringify(module)}); process.stdout.write(JSON.stringify(missingNodeFlags()));`;
  const out = execFileSync(process.execPath, [...NODE_FLAGS, '--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  assert.deepEqual(JSON.parse(out), []);
  assert.deepEqual(missingNodeFlags([]), [...NODE_FLAGS]);
});

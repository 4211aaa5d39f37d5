/**
 * Issue 11 point 4: the README's bearer one-liner, run as written (ports substituted) against the
 * running demo, ends in a 200 for alice's API call with a real at+jwt access token; and alice's
 * ID token is not a bearer token.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoPath } from '../support/paths.js';
import { freePort } from '../support/ports.js';
import { requireTool } from '../support/tools.js';

const run = promisify(execFile);

/** The command in the README block after `<!-- demo-bearer-one-liner -->`. */
function readmeOneLiner(): string {
  const readme = readFileSync(repoPath('README.md'), 'utf8');
  const match = /<!-- demo-bearer-one-liner -->\n```sh\n(.+)\n```/.exec(readme);
  assert.ok(match, 'README has the bearer one-liner');
  return match[1]!;
}

test('demo: the README bearer one-liner ends in a 200 for alice, with an RFC 9068 access token', async (t) => {
  if (requireTool(t, 'envoy') === undefined || requireTool(t, 'opa') === undefined) return;
  const ports = await Promise.all(Array.from({ length: 6 }, () => freePort()));
  const [envoyPort, , idpPort] = ports;
  const demo = spawn(process.execPath, [repoPath('dist', 'demo', 'main.js')], {
    env: { ...process.env, GATEHOUSE_DEMO_PORTS: ports.join(',') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  demo.stdout.on('data', (d: Buffer) => (output += d.toString()));
  demo.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    demo.once('exit', (code) => resolve(code)),
  );
  t.after(() => {
    if (demo.exitCode === null) demo.kill('SIGKILL');
  });
  const deadline = Date.now() + 60_000;
  while (!output.includes('Gatehouse demo is running')) {
    if (Date.now() > deadline || demo.exitCode !== null)
      assert.fail(`demo did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  const command = readmeOneLiner()
    .replaceAll('127.0.0.1:9000', `127.0.0.1:${idpPort}`)
    .replaceAll('localhost:8080', `localhost:${envoyPort}`);
  const { stdout } = await run('sh', ['-c', command], { timeout: 30_000 });
  assert.match(stdout, /^HTTP\/1\.1 200 /, stdout.slice(0, 500));

  // The token the one-liner used is an RFC 9068 access token for the demo API.
  const tokenCommand = /\$\((.+)\)" /.exec(command)?.[1] ?? '';
  const { stdout: token } = await run('sh', ['-c', tokenCommand], { timeout: 30_000 });
  const [header = '', payload = ''] = token.trim().split('.');
  assert.equal(JSON.parse(Buffer.from(header, 'base64url').toString()).typ, 'at+jwt');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<
    string,
    unknown
  >;
  assert.equal(claims['aud'], `http://localhost:${envoyPort}/api`);
  assert.equal(claims['sub'], 'alice');

  // Without a token, the same call is a 401.
  const { stdout: anonymous } = await run(
    'curl',
    ['-si', `http://localhost:${envoyPort}/api/items`],
    { timeout: 30_000 },
  );
  assert.match(anonymous, /^HTTP\/1\.1 401 /);

  demo.kill('SIGINT');
  assert.equal(await exited, 0, output);
});

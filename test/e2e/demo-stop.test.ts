/**
 * `npm run demo` as a process tree (issue 11, point 12): npm runs a shell that runs the demo, so a
 * SIGTERM to npm reaches only the shell. The demo must still stop Gatehouse and Envoy (nothing
 * left on their ports), remove its temporary folder (it holds the client secret), and write no
 * terminal escapes when its output is not a terminal. Opening 127.0.0.1 instead of localhost
 * reaches the IdP's login, not its invalid_redirect_uri page.
 *
 * The suite has just installed the tools and built dist/, so the demo is told to skip both
 * (GATEHOUSE_DEMO_PREPARED=1); the process layering under npm is the real one.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoPath } from '../support/paths.js';
import { freePort } from '../support/ports.js';
import { requireTool } from '../support/tools.js';

/** A GET as a browser's top-level navigation sends it (fetch would say sec-fetch-mode: cors). */
function navigate(
  url: string,
): Promise<{ status: number; location: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        headers: {
          accept: 'text/html',
          'sec-fetch-mode': 'navigate',
          'sec-fetch-dest': 'document',
        },
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }),
        );
      },
    );
    req.once('error', reject);
    req.end();
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

test('SIGTERM to `npm run demo` stops Gatehouse and Envoy and removes the temporary folder; no ANSI escapes off a terminal; 127.0.0.1 works too', async (t) => {
  if (requireTool(t, 'envoy') === undefined || requireTool(t, 'opa') === undefined) return;
  const ports = await Promise.all(Array.from({ length: 6 }, () => freePort()));
  const [envoyPort, appPort, idpPort, grpcPort, httpPort, adminPort] = ports as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-demo-stop-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const npm = spawn('npm', ['run', 'demo'], {
    cwd: repoPath(),
    env: {
      ...process.env,
      GATEHOUSE_DEMO_PORTS: ports.join(','),
      GATEHOUSE_DEMO_PREPARED: '1',
      TMPDIR: tmp,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so the cleanup below can reach what it left behind
  });
  let output = '';
  npm.stdout.on('data', (d: Buffer) => (output += d.toString()));
  npm.stderr.on('data', (d: Buffer) => (output += d.toString()));
  t.after(() => {
    try {
      process.kill(-npm.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  });

  const deadline = Date.now() + 90_000;
  while (!output.includes('Gatehouse demo is running')) {
    if (Date.now() > deadline || npm.exitCode !== null)
      assert.fail(`demo did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.doesNotMatch(output, /\u001b\[/, 'no terminal escapes when stdout is not a terminal');
  assert.match(
    output,
    new RegExp(`Envoy on 127\\.0\\.0\\.1:${envoyPort} \\(admin :${adminPort}\\)`),
  );
  assert.equal(
    readdirSync(tmp).filter((f) => f.startsWith('gatehouse-demo-')).length,
    1,
    'the demo uses one temporary folder',
  );

  // 127.0.0.1 instead of localhost: its callback is registered too, so the IdP shows its login.
  const redirect = await navigate(`http://127.0.0.1:${envoyPort}/`);
  assert.equal(redirect.status, 302);
  const authorize = new URL(redirect.location ?? '');
  assert.equal(
    authorize.searchParams.get('redirect_uri'),
    `http://127.0.0.1:${envoyPort}/.gatehouse/callback`,
  );
  const login = await navigate(authorize.href);
  assert.equal(
    login.status,
    303,
    `the IdP accepts the 127.0.0.1 callback (got ${login.status}: ${login.body})`,
  );
  assert.match(login.location ?? '', /\/interaction\//);

  for (const port of ports) assert.equal(await listening(port), true, `port ${port} is up`);
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  npm.kill('SIGTERM'); // npm only: the shell under it does not pass SIGTERM on
  await exited;
  const stopBy = Date.now() + 30_000;
  for (const port of [envoyPort, appPort, idpPort, grpcPort, httpPort, adminPort]) {
    while (await listening(port)) {
      if (Date.now() > stopBy)
        assert.fail(`port ${port} still open after SIGTERM to npm:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  while (
    readdirSync(tmp).some(
      (f) => f.startsWith('gatehouse-demo-') || f.startsWith('gatehouse-envoy-'),
    )
  ) {
    if (Date.now() > stopBy)
      assert.fail(`temporary folders left behind: ${readdirSync(tmp).join(', ')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
});

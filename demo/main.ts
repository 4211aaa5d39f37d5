/**
 * The local demo (`npm run demo`): on loopback, Envoy (envoy/front-proxy.yaml) in front of a
 * demo app, with Gatehouse answering every Check from the example policy in policies/.
 * Ctrl-C stops everything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startEnvoy } from '../test/support/envoy.js';
import { findTool } from '../test/support/tools.js';
import { repoPath } from '../test/support/paths.js';
import { startDemoApp } from './app.js';

const PORTS = { envoy: 8080, app: 8081, grpc: 9191, http: 9192, envoyAdmin: 9901 };

function step(message: string): void {
  process.stdout.write(`\u001b[1m==>\u001b[0m ${message}\n`);
}

async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not become ready`);
}

async function main(): Promise<void> {
  const opa = findTool('opa');
  if (opa === undefined) throw new Error('opa not found: run scripts/install-tools.sh');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-demo-'));
  const configFile = join(dir, 'config.yaml');
  writeFileSync(
    configFile,
    stringify({
      grpc: { address: '127.0.0.1', port: PORTS.grpc },
      http: { address: '127.0.0.1', port: PORTS.http },
      policy: { dir: repoPath('policies'), opa, watch: true },
      log: { level: 'info' },
    }),
  );

  step(`demo app on 127.0.0.1:${PORTS.app}`);
  const app = await startDemoApp(PORTS.app);

  step(`Gatehouse on 127.0.0.1:${PORTS.grpc} (gRPC) and :${PORTS.http} (health); policy from policies/ (edit it: it reloads)`);
  const gatehouse: ChildProcess = spawn(process.execPath, [repoPath('dist', 'src', 'cli', 'main.js'), 'serve', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logFile = join(dir, 'gatehouse.log');
  gatehouse.stdout?.on('data', (chunk: Buffer) => writeFileSync(logFile, chunk, { flag: 'a' }));
  gatehouse.once('exit', (code) => {
    if (!stopping) {
      process.stderr.write(`Gatehouse exited (${code}); see ${logFile}\n`);
      void stop(1);
    }
  });
  await waitReady(`http://127.0.0.1:${PORTS.http}/readyz`, 60_000);

  step(`Envoy on 127.0.0.1:${PORTS.envoy} with envoy/front-proxy.yaml`);
  const envoy = await startEnvoy({
    config: 'front-proxy.yaml',
    listenPort: PORTS.envoy,
    adminPort: PORTS.envoyAdmin,
    gatehousePort: PORTS.grpc,
    upstreams: { app: PORTS.app, admin: PORTS.app },
    logLevel: 'warn',
  });

  let stopping = false;
  async function stop(code: number): Promise<void> {
    if (stopping) return;
    stopping = true;
    step('stopping');
    await envoy.stop().catch(() => undefined);
    gatehouse.kill('SIGTERM');
    app.close();
    process.exit(code);
  }
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));

  const base = `http://127.0.0.1:${PORTS.envoy}`;
  process.stdout.write(`
Gatehouse demo is running. Decision logs: ${logFile}

  Open ${base}/public/        allowed for everyone (policy: public prefix)
  Open ${base}/api/items      denied: authentication required (401)

  curl -i ${base}/public/hello
  curl -i ${base}/api/items

Press Ctrl-C to stop.
`);
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

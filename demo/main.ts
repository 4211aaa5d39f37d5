/**
 * The local demo (`npm run demo`): on loopback, a local OIDC provider with demo users, Envoy
 * (envoy/front-proxy.yaml) in front of a demo app, and Gatehouse answering every Check from the
 * example policy in policies/. Ctrl-C stops everything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startEnvoy } from '../test/support/envoy.js';
import { findTool } from '../test/support/tools.js';
import { repoPath } from '../test/support/paths.js';
import { generateKeyFiles, SESSION_SECRET_FILE, SIGNING_KEY_FILE } from '../src/keys/generate.js';
import { startDemoApp } from './app.js';
import { assertionPanel } from './assertion.js';
import { startIdp } from './idp/start.js';
import { NODE_FLAGS } from '../src/server/node-flags.js';

/** Fixed ports, so the printed URLs are stable; GATEHOUSE_DEMO_PORTS=envoy,app,idp,grpc,http,admin overrides them. */
const PORTS = (() => {
  const custom = process.env['GATEHOUSE_DEMO_PORTS']?.split(',').map(Number);
  const [envoy = 8080, app = 8081, idp = 9000, grpc = 9191, http = 9192, envoyAdmin = 9901] = custom ?? [];
  return { envoy, app, idp, grpc, http, envoyAdmin };
})();
/** The browser uses localhost: a secure context, so __Host- cookies work without TLS. */
const ORIGIN = `http://localhost:${PORTS.envoy}`;
const CLIENT = { id: 'gatehouse-demo', secret: 'gatehouse-demo-secret' };
/**
 * Bearer tokens in the demo: the API's audience (an RFC 8707 resource indicator) the demo IdP
 * issues RFC 9068 access tokens for, and a demo-only client allowed the password grant, so one
 * command gets a token for alice (README, "Try a bearer token"; demo/idp/start.ts says why that
 * grant exists only in the demo).
 */
const API = `${ORIGIN}/api`;
const API_CLIENT = { client_id: 'demo-cli', client_secret: 'demo-cli-secret' };

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

  step(`local OIDC provider on 127.0.0.1:${PORTS.idp} (demo users alice and bob)`);
  const idp = await startIdp({
    port: PORTS.idp,
    clients: [{
      client_id: CLIENT.id,
      client_secret: CLIENT.secret,
      redirect_uris: [`${ORIGIN}/.gatehouse/callback`],
      post_logout_redirect_uris: [`${ORIGIN}/.gatehouse/signed_out`],
    }, { ...API_CLIENT, redirect_uris: [], grant_types: ['password'] }],
    api: { resource: API },
  });

  // Keys kept in .tools/ so demo sessions survive a restart of the demo.
  const keyDir = repoPath('.tools', 'demo-keys');
  if (!existsSync(join(keyDir, SIGNING_KEY_FILE))) {
    mkdirSync(keyDir, { recursive: true, mode: 0o700 });
    await generateKeyFiles(keyDir);
  }
  const configFile = join(dir, 'config.yaml');
  writeFileSync(
    configFile,
    stringify({
      development: true,
      grpc: { address: '127.0.0.1', port: PORTS.grpc },
      http: { address: '127.0.0.1', port: PORTS.http },
      policy: { dir: repoPath('policies'), opa, watch: true },
      identity: {
        issuer: idp.issuer,
        client_id: CLIENT.id,
        client_secret: CLIENT.secret,
        scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
        bearer: { audiences: [API] },
      },
      keys: { signing: [join(keyDir, SIGNING_KEY_FILE)] },
      session: { secret: { file: join(keyDir, SESSION_SECRET_FILE) } },
      log: { level: 'info' },
    }),
  );

  step(`demo app on 127.0.0.1:${PORTS.app}`);
  const app = await startDemoApp(PORTS.app, (req) => assertionPanel(req, `http://127.0.0.1:${PORTS.http}/.well-known/gatehouse/jwks.json`));

  step(`Gatehouse on 127.0.0.1:${PORTS.grpc} (gRPC) and :${PORTS.http} (health); policy from policies/ (edit it: it reloads)`);
  const gatehouse: ChildProcess = spawn(process.execPath, [...NODE_FLAGS, repoPath('dist', 'src', 'cli', 'main.js'), 'serve', '--config', configFile], {
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
    await idp.stop().catch(() => undefined);
    process.exit(code);
  }
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));

  process.stdout.write(`
Gatehouse demo is running. Decision logs: ${logFile}

  Open ${ORIGIN}/            and sign in at the demo identity provider as
      alice / alice   (group admins: may open everything)
      bob   / bob     (group staff: may read /api and /docs; / shows why he is denied)

  ${ORIGIN}/api/items        an API path      ${ORIGIN}/.gatehouse/   who am I (and sign out)
  ${ORIGIN}/public/          open to everyone
  curl -i ${ORIGIN}/api/items   -> 401 with WWW-Authenticate (API clients never get a redirect)

The demo app's page shows the identity headers it received and the verified assertion JWT.
Edit policies/authz.rego while it runs: Gatehouse reloads it. Press Ctrl-C to stop.
`);
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

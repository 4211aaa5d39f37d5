/**
 * The local demo (`npm run demo`): on loopback, a local OIDC provider with demo users, Envoy
 * (envoy/front-proxy.yaml) in front of a demo app, and Gatehouse answering every Check from the
 * example policy in policies/. Ctrl-C stops everything.
 *
 * Stopping is thorough: Ctrl-C, SIGTERM or SIGHUP — or the parent going away (`npm run` sends
 * SIGTERM to its shell only, which then exits without passing it on) — stops Envoy, Gatehouse,
 * the app and the IdP, and removes the temporary folder holding the config (with the client
 * secret). Terminal colours only on a terminal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';
import { startEnvoy, type RunningEnvoy } from '../test/support/envoy.js';
import { findTool } from '../test/support/tools.js';
import { repoPath, repoRoot } from '../test/support/paths.js';
import { generateKeyFiles, SESSION_SECRET_FILE, SIGNING_KEY_FILE } from '../src/keys/generate.js';
import { startDemoApp } from './app.js';
import { assertionPanel } from './assertion.js';
import { startIdp, type RunningIdp } from './idp/start.js';
import { policyEventLines } from './policy-events.js';
import { NODE_FLAGS } from '../src/server/node-flags.js';

/** Fixed ports, so the printed URLs are stable; GATEHOUSE_DEMO_PORTS=envoy,app,idp,grpc,http,admin overrides them. */
const PORTS = (() => {
  const custom = process.env['GATEHOUSE_DEMO_PORTS']?.split(',').map(Number);
  const [envoy = 8080, app = 8081, idp = 9000, grpc = 9191, http = 9192, envoyAdmin = 9901] =
    custom ?? [];
  return { envoy, app, idp, grpc, http, envoyAdmin };
})();
/** The browser uses localhost: a secure context, so __Host- cookies work without TLS. */
const ORIGIN = `http://localhost:${PORTS.envoy}`;
/** 127.0.0.1 is a secure context too; its callback is registered as well, so either works. */
const ORIGINS = [ORIGIN, `http://127.0.0.1:${PORTS.envoy}`];
const CLIENT = { id: 'gatehouse-demo', secret: 'gatehouse-demo-secret' };
/** Gatehouse's log (one JSON line per request, and its other events), kept after the demo stops. */
const LOG_FILE = repoPath('.tools', 'demo', 'gatehouse.log');
/**
 * Bearer tokens in the demo: the API's audience (an RFC 8707 resource indicator) the demo IdP
 * issues RFC 9068 access tokens for, and a demo-only client allowed the password grant, so one
 * command gets a token for alice (README, "Try a bearer token"; demo/idp/start.ts says why that
 * grant exists only in the demo).
 */
const API = `${ORIGIN}/api`;
const API_CLIENT = { client_id: 'demo-cli', client_secret: 'demo-cli-secret' };

const BOLD = process.stdout.isTTY === true ? ['\u001b[1m', '\u001b[0m'] : ['', ''];

function step(message: string): void {
  process.stdout.write(`${BOLD[0]}==>${BOLD[1]} ${message}\n`);
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

/** What is running, for {@link stop}. */
const running: {
  dir?: string;
  idp?: RunningIdp;
  app?: { close(): void };
  gatehouse?: ChildProcess;
  envoy?: RunningEnvoy;
} = {};
let stopping: Promise<void> | undefined;

/** Stop everything that started, remove the temporary folder, exit with `code`. */
function stop(code: number, why?: string): Promise<void> {
  stopping ??= (async () => {
    if (why !== undefined) step(why);
    step('stopping');
    await running.envoy?.stop().catch(() => undefined);
    const gatehouse = running.gatehouse;
    if (gatehouse !== undefined && gatehouse.exitCode === null && gatehouse.signalCode === null) {
      const exited = new Promise((r) => gatehouse.once('exit', r));
      gatehouse.kill('SIGTERM');
      const killer = setTimeout(() => gatehouse.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
    running.app?.close();
    await running.idp?.stop().catch(() => undefined);
    removeTemporary();
    process.exit(code);
  })();
  return stopping;
}

function removeTemporary(): void {
  if (running.dir !== undefined) rmSync(running.dir, { recursive: true, force: true });
}

// Whatever ends this process, nothing it started outlives it.
process.once('exit', () => {
  if (running.gatehouse?.exitCode === null) running.gatehouse.kill('SIGKILL');
  removeTemporary();
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.once(signal, () => void stop(0));
// `npm run demo` runs us under a shell; a SIGTERM to npm reaches that shell, which exits without
// passing it on. Being re-parented is the sign: stop as if signalled.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void stop(0, 'the command that started the demo has gone');
}, 250).unref();

async function main(): Promise<void> {
  const opa = findTool('opa');
  if (opa === undefined) throw new Error('opa not found: run scripts/install-tools.sh');
  running.dir = mkdtempSync(join(tmpdir(), 'gatehouse-demo-'));

  step(`local OIDC provider on 127.0.0.1:${PORTS.idp} (demo users alice and bob)`);
  running.idp = await startIdp({
    port: PORTS.idp,
    clients: [
      {
        client_id: CLIENT.id,
        client_secret: CLIENT.secret,
        redirect_uris: ORIGINS.map((o) => `${o}/.gatehouse/callback`),
        post_logout_redirect_uris: ORIGINS.map((o) => `${o}/.gatehouse/signed_out`),
        // Signing out at the IdP ends the Gatehouse sessions too (one URI: revocation is per user).
        backchannel_logout_uri: `http://127.0.0.1:${PORTS.envoy}/.gatehouse/backchannel_logout`,
      },
      { ...API_CLIENT, redirect_uris: [], grant_types: ['password'] },
    ],
    api: { resource: API },
  });
  const idp = running.idp;

  // Keys kept in .tools/ so demo sessions survive a restart of the demo.
  const keyDir = repoPath('.tools', 'demo-keys');
  if (!existsSync(join(keyDir, SIGNING_KEY_FILE))) {
    mkdirSync(keyDir, { recursive: true, mode: 0o700 });
    await generateKeyFiles(keyDir);
  }
  const configFile = join(running.dir, 'config.yaml');
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
      // Enrolled devices at /.gatehouse/devices: WebAuthn needs a secure context, and
      // http://localhost is one (http://127.0.0.1 is not a valid RP ID).
      device: { webauthn: { rp_id: 'localhost', rp_name: 'Gatehouse demo', origins: [ORIGIN] } },
      log: { level: 'info' },
    }),
    { mode: 0o600 },
  );

  step(`demo app on 127.0.0.1:${PORTS.app}`);
  running.app = await startDemoApp(PORTS.app, (req) =>
    assertionPanel(req, `http://127.0.0.1:${PORTS.http}/.well-known/gatehouse/jwks.json`),
  );

  step(
    `Gatehouse on 127.0.0.1:${PORTS.grpc} (gRPC) and :${PORTS.http} (health, metrics); policy from policies/ (edit it: it reloads)`,
  );
  mkdirSync(repoPath('.tools', 'demo'), { recursive: true });
  const log = createWriteStream(LOG_FILE, { flags: 'w' });
  const gatehouse = spawn(
    process.execPath,
    [...NODE_FLAGS, repoPath('dist', 'src', 'cli', 'main.js'), 'serve', '--config', configFile],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  running.gatehouse = gatehouse;
  // Every line goes to the log file; policy reloads and refused edits also to the terminal.
  createInterface({ input: gatehouse.stdout }).on('line', (text) => {
    log.write(`${text}\n`);
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    const [first, ...more] = policyEventLines(line, repoRoot);
    if (first !== undefined) step(first);
    for (const out of more) process.stdout.write(`    ${out}\n`);
  });
  gatehouse.once('exit', (code) => {
    if (stopping === undefined) void stop(1, `Gatehouse exited (${code}); see ${LOG_FILE}`);
  });
  await waitReady(`http://127.0.0.1:${PORTS.http}/readyz`, 60_000);

  step(
    `Envoy on 127.0.0.1:${PORTS.envoy} (admin :${PORTS.envoyAdmin}) with envoy/front-proxy.yaml`,
  );
  running.envoy = await startEnvoy({
    config: 'front-proxy.yaml',
    listenPort: PORTS.envoy,
    adminPort: PORTS.envoyAdmin,
    gatehousePort: PORTS.grpc,
    upstreams: { app: PORTS.app, admin: PORTS.app },
    logLevel: 'warn',
  });
  if (stopping !== undefined) return;

  process.stdout.write(`
Gatehouse demo is running. Decision log (one JSON line per request): ${LOG_FILE}

  Open ${ORIGIN}/            and sign in at the demo identity provider as
      alice / alice   (group admins: may open everything)
      bob   / bob     (group staff: may read /api and /docs; / shows why he is denied)

  ${ORIGIN}/api/items        an API path      ${ORIGIN}/.gatehouse/   who am I (and sign out)
  ${ORIGIN}/public/          open to everyone
  ${ORIGIN}/.gatehouse/devices   enroll this browser as a device (WebAuthn: Touch ID, Windows Hello, a security key)
  curl -i ${ORIGIN}/api/items   -> 401 with WWW-Authenticate (API clients never get a redirect)

The demo app's page shows the identity headers it received and the verified assertion JWT.
Edit policies/authz.rego while it runs: Gatehouse reloads it, and this terminal says so (or why
it refused the edit). Press Ctrl-C to stop.
`);
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  void stop(1);
});

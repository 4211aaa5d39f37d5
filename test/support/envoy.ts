import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import { repoRoot } from './paths.js';
import { findTool } from './tools.js';

/** Options for {@link startEnvoy}. */
export interface EnvoyOptions {
  /** A file in `envoy/` (default `front-proxy.yaml`) or an absolute path. */
  readonly config?: string;
  /** Port for the (first) listener on 127.0.0.1; default 0: Envoy picks one, read back via admin. */
  readonly listenPort?: number;
  /** Port of Gatehouse's gRPC listener on 127.0.0.1 (cluster `gatehouse`). */
  readonly gatehousePort: number;
  /**
   * Cluster name → port on 127.0.0.1, e.g. `{ app: app.port, admin: admin.port }`. Clusters that
   * are neither here nor `gatehouse` point at 127.0.0.1:1 (nothing listens: Envoy answers 503).
   */
  readonly upstreams?: Readonly<Record<string, number>>;
  /** Admin port on 127.0.0.1; default 0 (Envoy picks one). */
  readonly adminPort?: number;
  /** Envoy's `--log-level`; default `warn`. */
  readonly logLevel?: string;
  /** Last-minute edits to the parsed config (after the address rewrite), e.g. a shorter timeout. */
  readonly patch?: (config: Record<string, unknown>) => void;
  /** The envoy binary; default {@link findTool}('envoy'). */
  readonly bin?: string;
  /** How long to wait for Envoy to report LIVE; default 20 s. */
  readonly readyTimeoutMs?: number;
}

/** A running Envoy started by {@link startEnvoy}. */
export interface RunningEnvoy {
  /** Port of the first listener (`ingress` in front-proxy.yaml). */
  readonly port: number;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Every listener's port, by listener name. */
  readonly ports: Readonly<Record<string, number>>;
  readonly adminPort: number;
  /** The rewritten config Envoy runs with (deleted by `stop()`). */
  readonly configPath: string;
  /** GET an admin endpoint (e.g. `/stats?filter=ext_authz`) and return the body. */
  admin(path: string): Promise<string>;
  /** Envoy's stdout and stderr so far. */
  logs(): string;
  /** Terminates Envoy (SIGTERM, then SIGKILL after 5 s) and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Nothing listens on tcpmux; unmapped clusters point here so they fail fast with 503. */
const UNMAPPED_PORT = 1;
const MAX_LOG_CHARS = 1_000_000;

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Never leave an Envoy behind when the test process ends without calling stop(). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function records(value: unknown, where: string): Record<string, unknown>[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every(isRecord))
    throw new Error(`${where}: expected a list of objects`);
  return value;
}

function socketAddress(holder: unknown, where: string): Record<string, unknown> {
  const address = isRecord(holder) ? holder['address'] : undefined;
  const socket = isRecord(address) ? address['socket_address'] : undefined;
  if (!isRecord(socket)) throw new Error(`${where}: no address.socket_address`);
  return socket;
}

/**
 * Rewrites a bootstrap config for a test: the admin interface and every listener on 127.0.0.1
 * (the first one on `listenPort`, others on 0), and every cluster endpoint on 127.0.0.1 at the
 * port given for that cluster. Everything else is left exactly as users get it.
 *
 * @throws Error when the config lacks the expected shape, or a port is given for a cluster the
 *   config does not define.
 */
export function rewriteConfig(config: Record<string, unknown>, options: EnvoyOptions): void {
  const admin = socketAddress(config['admin'], 'admin');
  admin['address'] = '127.0.0.1';
  admin['port_value'] = options.adminPort ?? 0;

  const resources = config['static_resources'];
  if (!isRecord(resources)) throw new Error('static_resources: missing');

  const listeners = records(resources['listeners'], 'static_resources.listeners');
  if (listeners.length === 0) throw new Error('static_resources.listeners: none defined');
  listeners.forEach((listener, i) => {
    const socket = socketAddress(listener, `listener ${String(listener['name'])}`);
    socket['address'] = '127.0.0.1';
    socket['port_value'] = i === 0 ? (options.listenPort ?? 0) : 0;
  });

  const ports: Record<string, number> = { ...options.upstreams, gatehouse: options.gatehousePort };
  const clusters = records(resources['clusters'], 'static_resources.clusters');
  const names = new Set<string>();
  for (const cluster of clusters) {
    const name = String(cluster['name']);
    names.add(name);
    const port = ports[name] ?? UNMAPPED_PORT;
    const assignment = cluster['load_assignment'];
    if (!isRecord(assignment)) throw new Error(`cluster ${name}: no load_assignment`);
    // Loopback IPs need no DNS.
    cluster['type'] = 'STATIC';
    for (const locality of records(assignment['endpoints'], `cluster ${name} endpoints`)) {
      for (const lb of records(locality['lb_endpoints'], `cluster ${name} lb_endpoints`)) {
        const socket = socketAddress(lb['endpoint'], `cluster ${name} endpoint`);
        socket['address'] = '127.0.0.1';
        socket['port_value'] = port;
      }
    }
  }
  for (const name of Object.keys(ports)) {
    if (!names.has(name)) throw new Error(`no cluster named '${name}' in the Envoy config`);
  }
}

interface ListenerStatus {
  name?: string;
  local_address?: { socket_address?: { port_value?: number } };
}

/**
 * Starts a real Envoy with one of the shipped configs (`envoy/*.yaml`), its addresses rewritten
 * to loopback ports (see {@link rewriteConfig}), and resolves once Envoy reports LIVE and its
 * listeners are bound. Stop it with `stop()` (e.g. in `t.after`).
 *
 * @throws Error when envoy is not installed, the config is rejected, or Envoy is not ready in time
 *   (the message carries Envoy's log).
 * @example
 * const app = await startUpstream();
 * const envoy = await startEnvoy({ gatehousePort, upstreams: { app: app.port } });
 * t.after(() => envoy.stop());
 * const res = await fetch(`${envoy.url}/hello`);
 */
export async function startEnvoy(options: EnvoyOptions): Promise<RunningEnvoy> {
  const bin = options.bin ?? findTool('envoy');
  if (bin === undefined) throw new Error('envoy not found: run `bash scripts/install-tools.sh`');

  const source = options.config ?? 'front-proxy.yaml';
  const sourcePath = isAbsolute(source) ? source : join(repoRoot, 'envoy', source);
  const parsed: unknown = parse(await readFile(sourcePath, 'utf8'));
  if (!isRecord(parsed)) throw new Error(`${sourcePath}: not a YAML mapping`);
  rewriteConfig(parsed, options);
  options.patch?.(parsed);

  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-envoy-'));
  const configPath = join(dir, 'envoy.yaml');
  const adminAddressPath = join(dir, 'admin-address');
  await writeFile(configPath, stringify(parsed));

  installExitHook();
  const child = spawn(
    bin,
    [
      '-c',
      configPath,
      // A random base id keeps parallel Envoys' shared-memory regions apart; hot restart is
      // disabled anyway, so none is created.
      '--base-id',
      String(randomInt(1, 2 ** 20)),
      '--disable-hot-restart',
      '--concurrency',
      '1',
      '--log-level',
      options.logLevel ?? 'warn',
      '--admin-address-path',
      adminAddressPath,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  live.add(child);

  let output = '';
  const collect = (chunk: Buffer): void => {
    if (output.length < MAX_LOG_CHARS) output += chunk.toString('utf8');
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exited: string | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = signal === null ? `exit code ${String(code)}` : `signal ${signal}`;
      live.delete(child);
      resolve();
    });
    child.once('error', (err) => {
      exited = `spawn error: ${err.message}`;
      live.delete(child);
      resolve();
    });
  });

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (exited === undefined) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exitPromise;
        clearTimeout(killer);
      }
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  try {
    const adminUrl = await waitForAdmin(
      adminAddressPath,
      () => exited,
      options.readyTimeoutMs ?? 20_000,
    );
    const admin = async (path: string): Promise<string> => {
      const res = await fetch(`${adminUrl}${path}`);
      return res.text();
    };
    const statuses = JSON.parse(await admin('/listeners?format=json')) as {
      listener_statuses?: ListenerStatus[];
    };
    const ports: Record<string, number> = {};
    for (const status of statuses.listener_statuses ?? []) {
      const port = status.local_address?.socket_address?.port_value;
      if (status.name !== undefined && port !== undefined) ports[status.name] = port;
    }
    const firstName = (parsed['static_resources'] as { listeners: { name?: unknown }[] })
      .listeners[0]?.name;
    const port = ports[String(firstName)];
    if (port === undefined) throw new Error(`listener ${String(firstName)} is not bound`);
    return {
      port,
      url: `http://127.0.0.1:${port}`,
      ports,
      adminPort: Number(new URL(adminUrl).port),
      configPath,
      admin,
      logs: () => output,
      stop,
    };
  } catch (err) {
    await stop();
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`envoy did not start (${reason}); log:\n${output}`, { cause: err });
  }
}

/** Polls the admin interface until `/ready` says LIVE; returns the admin base URL. */
async function waitForAdmin(
  addressPath: string,
  exited: () => string | undefined,
  timeoutMs: number,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let adminUrl: string | undefined;
  while (Date.now() < deadline) {
    const status = exited();
    if (status !== undefined) throw new Error(`envoy exited early: ${status}`);
    if (adminUrl === undefined) {
      const address = (await readFile(addressPath, 'utf8').catch(() => '')).trim();
      if (address !== '') adminUrl = `http://${address}`;
    }
    if (adminUrl !== undefined) {
      const body = await fetch(`${adminUrl}/ready`)
        .then((res) => res.text())
        .catch(() => '');
      if (body.trim() === 'LIVE') return adminUrl;
    }
    await sleep(50);
  }
  throw new Error(`not LIVE after ${timeoutMs} ms`);
}

/**
 * Set every `grpc_service.timeout` in an Envoy config (the ext_authz call to Gatehouse) to
 * `timeout`. The shipped 0.5 s fails fast in production; a browser journey's sign-in callback
 * exchanges the code with the IdP inside that Check, which a loaded 2-core test machine can take
 * longer than 0.5 s to do. The fail-fast timeout itself is tested in envoy-check and faults.
 * Returns how many timeouts it set.
 */
export function lengthenGrpcTimeouts(node: unknown, timeout: string): number {
  if (Array.isArray(node)) {
    let count = 0;
    for (const item of node) count += lengthenGrpcTimeouts(item, timeout);
    return count;
  }
  if (node === null || typeof node !== 'object') return 0;
  const record = node as Record<string, unknown>;
  let count = 0;
  const grpc = record['grpc_service'];
  if (grpc !== null && typeof grpc === 'object' && 'timeout' in grpc) {
    (grpc as Record<string, unknown>)['timeout'] = timeout;
    count++;
  }
  for (const value of Object.values(record)) count += lengthenGrpcTimeouts(value, timeout);
  return count;
}

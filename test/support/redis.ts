/**
 * A real Redis for the tests: Debian's `redis-server` (installed by scripts/install-tools.sh),
 * on a free loopback port, with its own temp folder and no persistence. It can be stopped and
 * started again on the same port, to test what the store does meanwhile.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { freePort } from './ports.js';
import { requireTool } from './tools.js';

/** Options for {@link startRedis}. */
export interface RedisOptions {
  /** An ACL user, its password, and its rights (default every right on every key and channel). */
  readonly user?: {
    readonly name: string;
    readonly password: string;
    readonly rights?: readonly string[];
  };
  /** Serve TLS only, with this certificate (issued for 127.0.0.1) and key. */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string };
  /** Keep the data across {@link TestRedis.stop} / {@link TestRedis.start} (append-only file). */
  readonly persistent?: boolean;
}

/** A running test Redis. */
export interface TestRedis {
  /** `redis://127.0.0.1:PORT` (or `rediss://` with TLS), without credentials. */
  readonly url: string;
  readonly port: number;
  /** Stop it (SIGTERM) and wait until it has exited; the port is then closed. */
  stop(): Promise<void>;
  /** Start it again on the same port (after {@link TestRedis.stop}), empty unless persistent. */
  start(): Promise<void>;
  /**
   * Freeze it (SIGSTOP) or let it go on (SIGCONT): its connections stay open and silent, as with
   * a hung server or a network path that drops packets without a FIN.
   */
  pause(): void;
  resume(): void;
}

/**
 * Start a Redis for one test (stopped, and its folder removed, when the test ends). Returns
 * undefined when `redis-server` is missing (the test is skipped; under CI=true it fails).
 *
 * @example
 *   const redis = await startRedis(t);
 *   if (redis === undefined) return;
 */
export async function startRedis(
  t: TestContext,
  options: RedisOptions = {},
): Promise<TestRedis | undefined> {
  const bin = requireTool(t, 'redis-server');
  if (bin === undefined) return undefined;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-'));
  const args = [
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.persistent === true ? 'yes' : 'no',
    '--appendfsync',
    'always',
    '--daemonize',
    'no',
    '--loglevel',
    'notice',
    '--logfile',
    '',
  ];
  if (options.tls === undefined) args.push('--port', String(port));
  else
    args.push(
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--tls-cert-file',
      options.tls.cert,
      '--tls-key-file',
      options.tls.key,
      '--tls-ca-cert-file',
      options.tls.ca,
      '--tls-auth-clients',
      'no',
    );
  if (options.user !== undefined)
    // One argv item per word: redis-server quotes an item holding spaces as one token.
    args.push(
      '--user',
      'default',
      'off',
      '--user',
      options.user.name,
      'on',
      `>${options.user.password}`,
      ...(options.user.rights ?? ['~*', '&*', '+@all']),
    );
  let child: ChildProcess | undefined;
  const start = async () => {
    const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`redis-server did not start within 10 s:\n${output}`)),
        10_000,
      );
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout?.on('data', onData);
      proc.stderr?.on('data', onData);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code}) at start:\n${output}`));
      });
    });
  };
  const stop = async () => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGCONT'); // a paused Redis handles SIGTERM only once it runs again
      proc.kill('SIGTERM');
    });
  };
  await start();
  t.after(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const scheme = options.tls === undefined ? 'redis' : 'rediss';
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    stop,
    start,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
  };
}

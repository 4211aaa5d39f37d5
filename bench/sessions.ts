/**
 * Browser sessions for the benchmark's `sessions` stage: real sign-ins through Gatehouse's Check
 * API, and a Redis for the `redis` session store.
 *
 * Every session the stage sends is one Gatehouse created itself, in the store the measured
 * process uses, by the same code path as a browser's sign-in: a Check for
 * `/.gatehouse/sign_in` (redirect to the IdP with `state`, `nonce`, PKCE, and the transaction
 * cookie), the bench IdP's authorize endpoint (bench/systems.ts: the user named by
 * `login_hint` signs in at once), then a Check for the callback with the transaction cookie:
 * Gatehouse redeems the code at the IdP's token endpoint, verifies the ID token, writes the
 * record to its store and sets `__Host-gatehouse` to the signed handle. So the memory store needs
 * no seeding switch, and the Redis store holds exactly the records Gatehouse writes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SESSION_COOKIE, TXN_COOKIE_NAME } from '../src/identity/session/cookie.js';
import type { CheckResponse } from '../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { connect, httpRequest } from '../test/support/grpc-client.js';
import { findTool } from '../test/support/tools.js';
import { freePort, spawnPinned, waitFor, type Pinned } from './lib.js';

/** The host the benchmark's browser requests go to (bench/traffic.ts `:authority`). */
export const SESSION_HOST = 'app.example.com';

const NAVIGATION = {
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
  'sec-fetch-site': 'none',
  'x-forwarded-proto': 'https',
};

function headersOf(response: CheckResponse): { key: string; value: string }[] {
  const r = response.httpResponse;
  const list =
    r.case === 'deniedResponse'
      ? r.value.headers
      : r.case === 'okResponse'
        ? r.value.responseHeadersToAdd
        : [];
  return list.map((h) => ({ key: h.header?.key ?? '', value: h.header?.value ?? '' }));
}

/** The value a response's `set-cookie` gives cookie `name`. */
function setCookie(response: CheckResponse, name: string): string | undefined {
  for (const { key, value } of headersOf(response)) {
    if (key.toLowerCase() !== 'set-cookie') continue;
    const pair = value.split(';')[0] ?? '';
    const eq = pair.indexOf('=');
    if (pair.slice(0, eq) === name && eq + 1 < pair.length) return pair.slice(eq + 1);
  }
  return undefined;
}

function location(response: CheckResponse): string | undefined {
  return headersOf(response).find((h) => h.key.toLowerCase() === 'location')?.value;
}

/**
 * Sign `count` users (`user-0` … `user-<count-1>`) in to the Gatehouse on gRPC `port`, through
 * the bench IdP at `issuer`, `concurrency` at a time.
 *
 * @returns the session cookie values (signed handles), in user order.
 * @throws when any step of any sign-in does not go as a browser's would (no partial result).
 */
export async function signInUsers(
  port: number,
  issuer: string,
  count: number,
  options: { readonly concurrency?: number; readonly offset?: number } = {},
): Promise<string[]> {
  const client = connect(port);
  const cookies = new Array<string>(count);
  let next = 0;
  const one = async (i: number): Promise<string> => {
    const user = `user-${(options.offset ?? 0) + i}`;
    const start = await client.check(
      httpRequest({ path: '/.gatehouse/sign_in?rd=/', host: SESSION_HOST, headers: NAVIGATION }),
    );
    const authorize = location(start);
    const txn = setCookie(start, TXN_COOKIE_NAME);
    if (authorize === undefined || !authorize.startsWith(`${issuer}/authorize?`) || !txn)
      throw new Error(`sign-in of ${user}: the start did not redirect to the IdP with a txn`);
    const url = new URL(authorize);
    url.searchParams.set('login_hint', user);
    const atIdp = await fetch(url, { redirect: 'manual' });
    const back = atIdp.headers.get('location');
    await atIdp.body?.cancel();
    if (atIdp.status !== 302 || back === null)
      throw new Error(`sign-in of ${user}: the IdP answered ${atIdp.status}`);
    const callback = new URL(back);
    if (callback.host !== SESSION_HOST || callback.pathname !== '/.gatehouse/callback')
      throw new Error(`sign-in of ${user}: the IdP sent the browser to ${callback.origin}`);
    const done = await client.check(
      httpRequest({
        path: `${callback.pathname}${callback.search}`,
        host: SESSION_HOST,
        headers: { ...NAVIGATION, cookie: `${TXN_COOKIE_NAME}=${txn}` },
      }),
    );
    const session = setCookie(done, DEFAULT_SESSION_COOKIE);
    if (session === undefined)
      throw new Error(
        `sign-in of ${user}: the callback set no session (${done.httpResponse.case}, status ${
          done.httpResponse.case === 'deniedResponse' ? done.httpResponse.value.status?.code : 'n/a'
        })`,
      );
    return session;
  };
  try {
    await Promise.all(
      Array.from({ length: Math.max(1, options.concurrency ?? 16) }, async () => {
        for (let i = next++; i < count; i = next++) cookies[i] = await one(i);
      }),
    );
    return cookies;
  } finally {
    client.close();
  }
}

/** A redis-server for the benchmark: loopback, no persistence, pinned to `cpu`. */
export interface BenchRedis {
  readonly url: string;
  readonly process: Pinned;
  stop(): Promise<void>;
}

/**
 * Start Debian's `redis-server` (scripts/install-tools.sh installs the pinned version) on a free
 * loopback port, with no persistence, pinned to `cpu` (as test/support/redis.ts starts it for the
 * tests, plus the pinning).
 */
export async function startBenchRedis(cpu: number): Promise<BenchRedis> {
  const bin = findTool('redis-server');
  if (bin === undefined)
    throw new Error('sessions: redis-server not found (scripts/install-tools.sh installs it)');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-redis-'));
  const proc = spawnPinned(cpu, bin, [
    '--bind',
    '127.0.0.1',
    '--port',
    String(port),
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'no',
    '--logfile',
    '',
  ]);
  const stop = async (): Promise<void> => {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('redis-server', () => {
      if (proc.child.exitCode !== null)
        throw new Error(`redis-server exited: ${proc.output().slice(0, 2000)}`);
      return Promise.resolve(proc.output().includes('Ready to accept connections')).then(
        (ready) =>
          ready &&
          new Promise<boolean>((resolve) => {
            const s = netConnect(port, '127.0.0.1', () => {
              s.end();
              resolve(true);
            }).once('error', () => resolve(false));
          }),
      );
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `redis://127.0.0.1:${port}`, process: proc, stop };
}

/**
 * CPU per Check of a browser session against a cached bearer token, in one process: the
 * decision (`gatehouse.check`, exactly what the gRPC listener runs) without the transport.
 *
 * One in-process Gatehouse (memory session store, the identity tests' policy: any authenticated
 * caller is allowed, so both kinds sign an assertion) behind the demo IdP. `--sessions N`
 * sessions are minted with `gatehouse.sessions.issue` (the record Gatehouse writes at sign-in),
 * `--tokens M` real RFC 9068 access tokens come from the IdP's token endpoint. After a warm-up
 * (every token verified once, so the bearer side is the verified-token cache's hit path), rounds
 * alternate: `--checks` session Checks round-robin over the sessions, then as many bearer Checks
 * round-robin over the tokens, each measured with `process.cpuUsage()`; `--rounds` of each.
 * Prints every round and the medians, in CPU µs per Check, and their ratio.
 *
 * Usage (after `npm run build`):
 *   node dist/bench/session-check.js [--sessions 1000] [--tokens 20] [--checks 20000]
 *     [--rounds 5] [--concurrency 16] [--only session|bearer]
 * Profile only the session Checks:
 *   node --cpu-prof --cpu-prof-dir /tmp/prof dist/bench/session-check.js --only session
 *   node dist/bench/cpuprofile-summary.js /tmp/prof/<file>.cpuprofile 30
 */
import { create } from '@bufbuild/protobuf';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { exportPKCS8, generateKeyPair } from 'jose';
import {
  CheckRequestSchema,
  type CheckRequest,
} from '../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { DEFAULT_SESSION_COOKIE } from '../src/identity/session/cookie.js';
import type { Gatehouse } from '../src/server/start.js';
import { startTestGatehouse } from '../test/support/gatehouse.js';
import { httpRequest } from '../test/support/grpc-client.js';
import {
  apiAccessToken,
  startTestIdp,
  TEST_API,
  TEST_CLIENT_ID,
  TEST_CLIENT_SECRET,
  TEST_HOST,
} from '../test/support/idp.js';
import { testdata } from '../test/support/paths.js';
import { findTool } from '../test/support/tools.js';

const { values: args } = parseArgs({
  options: {
    sessions: { type: 'string', default: '1000' },
    tokens: { type: 'string', default: '20' },
    checks: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '16' },
    only: { type: 'string' },
  },
});
const sessionCount = Number(args.sessions);
const tokenCount = Number(args.tokens);
const checks = Number(args.checks);
const rounds = Number(args.rounds);
const concurrency = Number(args.concurrency);
const only = args.only;
if (only !== undefined && only !== 'session' && only !== 'bearer')
  throw new Error('--only session|bearer');

const opa = findTool('opa');
if (opa === undefined) throw new Error('opa not found: run scripts/install-tools.sh');

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-session-check-'));
const idp = await startTestIdp();
try {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const keyFile = join(dir, 'signing.pem');
  writeFileSync(keyFile, await exportPKCS8(privateKey), { mode: 0o600 });
  const secretFile = join(dir, 'session-secret');
  writeFileSync(secretFile, randomBytes(32).toString('base64url'), { mode: 0o600 });
  const policyDir = join(dir, 'policy');
  mkdirSync(policyDir);
  copyFileSync(testdata('identity', 'authz.rego'), join(policyDir, 'authz.rego'));
  const { gatehouse } = await startTestGatehouse(
    { dir: policyDir, opa, watch: false },
    {
      development: true,
      log: { level: 'warn' },
      keys: { signing: [keyFile] },
      session: { secret: { file: secretFile } },
      identity: {
        issuer: idp.idp.issuer,
        client_id: TEST_CLIENT_ID,
        client_secret: TEST_CLIENT_SECRET,
        scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
        bearer: { audiences: [TEST_API] },
      },
    },
  );
  try {
    const sessions = gatehouse.sessions;
    if (sessions === undefined) throw new Error('identity is not configured');
    const sessionRequests: CheckRequest[] = [];
    for (let i = 0; i < sessionCount; i++) {
      const { cookieValue } = await sessions.issue({
        sub: `user-${i}`,
        email: `user-${i}@example.com`,
        email_verified: true,
        name: `User ${i}`,
        groups: ['reader', 'writer'],
        idp_iss: idp.idp.issuer,
        claims: {},
        host: TEST_HOST,
      });
      sessionRequests.push(
        request({ accept: 'application/json', cookie: `${DEFAULT_SESSION_COOKIE}=${cookieValue}` }),
      );
    }
    const bearerRequests: CheckRequest[] = [];
    for (let i = 0; i < tokenCount; i++) {
      const token = await apiAccessToken(idp.idp.issuer, i % 2 === 0 ? 'alice' : 'bob');
      bearerRequests.push(
        request({ accept: 'application/json', authorization: `Bearer ${token}` }),
      );
    }
    // Warm-up: every credential once (the bearer cache, the session cache, the assertion cache),
    // and each must be allowed, or the figures would measure a denial.
    for (const r of [...sessionRequests, ...bearerRequests]) {
      const outcome = await gatehouse.check(r);
      if (outcome.response.httpResponse.case !== 'okResponse')
        throw new Error(`warm-up Check not allowed: ${outcome.response.status?.message ?? ''}`);
    }
    const check: Check = (r) => gatehouse.check(r);
    await run(check, sessionRequests, checks);
    await run(check, bearerRequests, checks);

    const figures = { session: [] as number[], bearer: [] as number[] };
    process.stdout.write(`uptime: ${uptime()}\n`);
    for (let round = 1; round <= rounds; round++) {
      for (const kind of ['session', 'bearer'] as const) {
        if (only !== undefined && only !== kind) continue;
        const us = await run(check, kind === 'session' ? sessionRequests : bearerRequests, checks);
        figures[kind].push(us);
        process.stdout.write(`round ${round} ${kind}: ${us.toFixed(1)} CPU µs/Check\n`);
      }
    }
    const s = median(figures.session);
    const b = median(figures.bearer);
    process.stdout.write(
      `median session ${s.toFixed(1)} µs, bearer (cached) ${b.toFixed(1)} µs` +
        (Number.isFinite(s / b) ? `, session ÷ bearer ${(s / b).toFixed(2)}×\n` : '\n'),
    );
    process.stdout.write(`uptime: ${uptime()}\n`);
  } finally {
    await gatehouse.stop();
  }
} finally {
  await idp.stop();
  rmSync(dir, { recursive: true, force: true });
}

type Check = Gatehouse['check'];

function request(headers: Record<string, string>): CheckRequest {
  return create(CheckRequestSchema, httpRequest({ path: '/app/orders', host: TEST_HOST, headers }));
}

/** CPU µs per Check over `count` Checks, `concurrency` in flight, round-robin over `requests`. */
async function run(
  check: Check,
  requests: readonly CheckRequest[],
  count: number,
): Promise<number> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const r = requests[next++ % requests.length] as CheckRequest;
      const outcome = (await check(r)).response.httpResponse.case;
      if (outcome !== 'okResponse') throw new Error(`Check not allowed (${outcome})`);
    }
  };
  const before = process.cpuUsage();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / count;
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function uptime(): string {
  return `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(', ')}`;
}

/**
 * `npm run bench`: Gatehouse side by side with the OPA-Envoy plugin and with Envoy alone.
 *
 *   1. Check level: the same CheckRequests (ghz) to both systems, three scenarios (noop, rbac,
 *      headers): closed-loop maximum throughput, then fixed rates (500, 1,000, 2,000 rps and up
 *      until it breaks; each after a short settling run at that rate) with p50/p99/p99.9, CPU
 *      time per 1,000 Checks, resident memory, errors. The closed loop is measured with ghz and
 *      with h2load, after each load generator's own ceiling against a constant-allow server.
 *   2. End to end: HTTP (h2load) through the real Envoy (envoy/front-proxy.yaml) to a trivial
 *      upstream: Envoy alone, Envoy + Gatehouse, Envoy + plugin, at fixed rates.
 *   3. Soak: N Checks (default 1,000,000) through Gatehouse; RSS at start, middle and end.
 *   3b. Sessions: the role-based policy with browser session cookies (thousands of real sign-ins
 *      through the Check API), session store `memory` and `redis` side by side, rounds
 *      interleaved; the ratio redis ÷ memory, and the plugin with the same requests as bearer
 *      traffic (it has no sessions) for reference (bench/sessions.ts).
 *   4. Scaling: Gatehouse's role-based closed-loop maximum with `workers: 1` on CPU 1, then
 *      `workers: 2` on CPUs 0-1 (and, for the cluster's own overhead, `workers: 2` on CPU 1).
 *      The machine has two cores and ghz needs one, so in the two-core run the load generator
 *      shares CPU 0 with a worker: the measured ratio is a lower bound on the scaling.
 *
 * The load generators run on CPU 0, everything under test on CPU 1 (taskset). Results go to
 * bench/results/<name>.json, and the tables and plot into docs/performance.md (bench/report.ts).
 *
 * Usage: node dist/bench/run.js [--quick] [--soak N] [--name NAME] [--only check,traffic,e2e,soak,sessions,scaling]
 *                               [--log-level info] [--no-docs] [--profile SECONDS]
 *                               [--profile-tokens N] [--soak-seconds S] [--merge]
 *
 * --merge: keep the stages not run from the existing bench/results/<name>.json (e.g. rerun only
 * `--only scaling --merge`); each merged stage keeps the date and commit it was measured at.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { connect as netConnect } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import * as http2 from 'node:http2';
import { fromBinary, fromJson, toBinary } from '@bufbuild/protobuf';
import {
  CheckRequestSchema,
  CheckResponseSchema,
} from '../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { startEnvoy } from '../test/support/envoy.js';
import { summariseProfile } from './cpuprofile-summary.js';
import {
  freePort,
  ghz,
  h2load,
  isBroken,
  LOAD_CPU,
  loadgen,
  percentiles,
  round,
  ROOT,
  run,
  sampleProc,
  SERVER_CPU,
  spawnPinned,
  waitFor,
  type LoadResult,
} from './lib.js';
import {
  renderAndWrite,
  type H2loadMax,
  type Results,
  type CheckRun,
  type E2eRun,
  type ScalingPoint,
  type ScalingRun,
  type SessionsRun,
  type SessionStoreRun,
  type SoakRun,
  type TrafficRun,
} from './report.js';
import { signInUsers, startBenchRedis } from './sessions.js';
import {
  headerBytes,
  mintTokens,
  trafficGrpcBody,
  trafficRequestJson,
  writeTrafficFrames,
} from './traffic.js';
import {
  checkRequestJson,
  PLUGIN_BIN,
  SCENARIOS,
  startIdp,
  startSystem,
  SYSTEMS,
  writeCheckRequest,
  type Idp,
  type RunningSystem,
  type ScenarioName,
  type SystemName,
} from './systems.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    soak: { type: 'string' },
    name: { type: 'string' },
    only: { type: 'string', default: 'check,traffic,e2e,soak,sessions,scaling' },
    merge: { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'info' },
    'no-docs': { type: 'boolean', default: false },
    profile: { type: 'string' },
    'profile-tokens': { type: 'string' },
    'soak-seconds': { type: 'string' },
  },
  strict: true,
});
// Gatehouse and the transport server are started with this Node (process.execPath): it must be
// the one Gatehouse runs on (package.json engines), not an older `node` found first on PATH.
if (Number(process.versions.node.split('.')[0]) < 24)
  throw new Error(`bench: Node ${process.version}; run it through \`npm run bench\` (Node 24)`);

const quick = args.quick;
const settings = {
  quick,
  warmup_s: quick ? 1 : 3,
  max_s: quick ? 3 : 10,
  rate_s: quick ? 2 : 10,
  rate_warmup_s: quick ? 1 : 2,
  e2e_s: quick ? 3 : 10,
  required_rates_up_to: 2000,
  rates: [500, 1000, 2000, 3000, 4000, 6000, 8000, 12000, 16000, 24000, 32000],
  e2e_rates: [500, 1000, 2000],
  serial_requests: quick ? 1000 : 3000,
  soak_checks: Number(args.soak ?? (quick ? 20_000 : 1_000_000)),
  concurrency: 50,
  connections: 4,
  traffic_tokens: [10_000, 20_000],
  traffic_rates: quick ? [500, 1000, 2000] : [500, 1000, 2000, 3000, 4000, 6000, 8000],
  /** The sessions stage: distinct signed-in users (within the 10,000-entry session cache). */
  session_count: quick ? 1000 : 5000,
  /** Interleaved closed-loop rounds per system in the sessions stage (the median is reported). */
  session_rounds: quick ? 1 : 3,
  session_rates: quick ? [1000] : [1000, 2000],
  /** The soak's distinct tokens (round-robin past the 10,000-entry caches: every Check a miss). */
  soak_tokens: 20_000,
  /** The soak stops after this long even if it has not sent all its Checks (reported). */
  soak_max_s: Number(args['soak-seconds'] ?? (quick ? 60 : 900)),
  gatehouse_log_level: args['log-level'],
};
const stages = new Set(args.only.split(',').map((s) => s.trim()));
const name = args.name ?? (quick ? 'quick' : 'latest');
const resultsDir = join(ROOT, 'bench', 'results');
const scratch = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function fmt(r: LoadResult): string {
  const rate = r.target_rps === undefined ? 'closed loop' : `${r.target_rps} rps`;
  return (
    `${rate}: ${r.achieved_rps} rps, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, p99.9 ${r.p999_ms} ms, errors ${r.errors}` +
    (r.cpu_ms_per_1k === undefined ? '' : `, cpu ${r.cpu_ms_per_1k} ms/1k`) +
    (r.rss_mb === undefined ? '' : `, rss ${r.rss_mb} MB`) +
    (r.broken === true ? ' [broken]' : '')
  );
}

/** One ghz run with the server's CPU and memory sampled around it. */
async function measured(
  system: RunningSystem,
  run: () => Promise<LoadResult>,
): Promise<LoadResult> {
  const before = sampleProc(system.process.pid);
  const result = await run();
  const after = sampleProc(system.process.pid);
  const withProc = {
    ...result,
    cpu_ms_per_1k: round(((after.cpuMs - before.cpuMs) / Math.max(1, result.requests)) * 1000, 1),
    rss_mb: round(after.rssMb, 1),
  };
  return withProc.target_rps === undefined ? withProc : { ...withProc, broken: isBroken(withProc) };
}

async function checkLevel(idp: Idp): Promise<Record<ScenarioName, Record<SystemName, CheckRun>>> {
  const out = {} as Record<ScenarioName, Record<SystemName, CheckRun>>;
  for (const scenario of SCENARIOS) {
    out[scenario] = {} as Record<SystemName, CheckRun>;
    const dataFile = writeCheckRequest(scratch, scenario, idp.token);
    const bodyFile = writeGrpcBody(scenario, idp.token);
    for (const systemName of SYSTEMS) {
      log(`check ${scenario} / ${systemName}: starting`);
      const system = await startSystem(systemName, scenario, {
        idp,
        dir: scratch,
        logLevel: settings.gatehouse_log_level,
      });
      try {
        const rssIdle = round(sampleProc(system.process.pid).rssMb, 1);
        const base = {
          port: system.port,
          dataFile,
          concurrency: settings.concurrency,
          connections: settings.connections,
        };
        await ghz({ ...base, seconds: settings.warmup_s });
        const max = await measured(system, () => ghz({ ...base, seconds: settings.max_s }));
        log(`  max ${fmt(max)}`);
        const maxH2load = await h2loadGrpc(system.port, bodyFile, system.process.pid);
        log(
          `  max (h2load) ${maxH2load.achieved_rps} rps, mean ${maxH2load.mean_ms} ms, cpu ${maxH2load.cpu_ms_per_1k} ms/1k, errors ${maxH2load.errors}`,
        );
        const rates: LoadResult[] = [];
        for (const rps of settings.rates) {
          // Settle at this rate first (the heap and queues left by the previous run), then measure.
          await ghz({ ...base, rps, seconds: settings.rate_warmup_s });
          const r = await measured(system, () => ghz({ ...base, rps, seconds: settings.rate_s }));
          log(`  ${fmt(r)}`);
          rates.push(r);
          // 500, 1,000 and 2,000 rps are always measured; beyond, stop at the first rate that breaks.
          if (r.broken === true && rps >= settings.required_rates_up_to) break;
        }
        out[scenario][systemName] = {
          rss_idle_mb: rssIdle,
          max,
          max_h2load: maxH2load,
          rates,
          rss_end_mb: round(sampleProc(system.process.pid).rssMb, 1),
        };
      } finally {
        await system.process.stop();
      }
    }
  }
  return out;
}

/**
 * The `traffic` stage: production-shaped requests (bench/traffic.ts) with many distinct tokens,
 * RS256 and ES256, against both systems (role-based policies, each system's idiomatic one).
 * Per (algorithm, token count): ghz closed-loop maximum, then fixed rates until one breaks, CPU
 * per 1,000 Checks and RSS. Token counts: 10,000 (all fit Gatehouse's 10,000-entry verified
 * token cache: misses only on the first pass) and 20,000 (round-robin beyond the cache: every
 * Check of Gatehouse verifies and signs afresh).
 */
async function trafficStage(idp: Idp): Promise<TrafficRun[]> {
  const out: TrafficRun[] = [];
  trafficCeiling = await loadgenCeiling(idp);
  for (const alg of ['RS256', 'ES256'] as const) {
    for (const count of settings.traffic_tokens) {
      const tokens = mintTokens(idp, alg, count);
      const framesFile = writeTrafficFrames(scratch, `${alg}-${count}`, tokens);
      const runs = {} as Record<SystemName, CheckRun>;
      for (const systemName of SYSTEMS) {
        log(`traffic ${alg} × ${count} tokens / ${systemName}: starting`);
        const system = await startSystem(systemName, 'rbac', {
          idp,
          dir: scratch,
          logLevel: settings.gatehouse_log_level,
        });
        try {
          const rssIdle = round(sampleProc(system.process.pid).rssMb, 1);
          // Measure what the stage claims: the production-shaped request is allowed.
          if (!(await grpcProbe(system.port, trafficGrpcBody(tokens[0] as string))))
            throw new Error(`traffic: ${systemName} does not allow the traffic request`);
          const base = {
            port: system.port,
            framesFile,
            concurrency: settings.concurrency,
            connections: settings.connections,
          };
          // One pass over every token first: the cached case measures a warm cache.
          await loadgen({ ...base, requests: count });
          const max = await measured(system, () => loadgen({ ...base, seconds: settings.max_s }));
          log(`  max ${fmt(max)}`);
          if (max.errors > 0) throw new Error(`traffic: errors ${JSON.stringify(max.error_kinds)}`);
          const rates: LoadResult[] = [];
          for (const rps of settings.traffic_rates) {
            await loadgen({ ...base, rps, seconds: settings.rate_warmup_s });
            const r = await measured(system, () =>
              loadgen({ ...base, rps, seconds: settings.rate_s }),
            );
            log(`  ${fmt(r)}`);
            rates.push(r);
            if (r.broken === true && rps >= settings.required_rates_up_to) break;
          }
          runs[systemName] = {
            rss_idle_mb: rssIdle,
            max,
            rates,
            rss_end_mb: round(sampleProc(system.process.pid).rssMb, 1),
          };
        } finally {
          await system.process.stop();
        }
      }
      const sample = trafficRequestJson(tokens[0] as string, 0);
      out.push({ alg, tokens: count, header_bytes: headerBytes(sample), runs });
    }
  }
  return out;
}

let trafficCeiling: LoadResult | undefined;

type SessionSystem = 'memory' | 'redis' | 'gatehouse_bearer' | 'plugin_bearer';

/**
 * The `sessions` stage (issue 15): Gatehouse's role-based policy with browser session cookies.
 * `session_count` users sign in through the Check API (bench/sessions.ts: real sign-ins, so
 * every record is one Gatehouse wrote to the store it reads) to a Gatehouse with
 * `session.store.kind: memory` and to one with `redis` (a redis-server on the server CPU too,
 * loopback); each then gets the production-shaped request of the traffic stage with the
 * session cookie among the site's cookies and no `Authorization` header, one session per
 * request round-robin. For reference, the same requests with a bearer token instead (as many
 * distinct RS256 tokens) to a Gatehouse and to the plugin (which has no sessions). All four run
 * at once (idle but one), and the closed-loop rounds are interleaved so that the machine's load
 * falls on each alike; the median round is reported. Every answer must be an allow (the load
 * generator counts anything else as an error and the stage fails on one).
 */
async function sessionsStage(idp: Idp): Promise<SessionsRun> {
  const count = settings.session_count;
  const loadavgAtStart = loadavg().map((x) => round(x, 2));
  const redis = await startBenchRedis(SERVER_CPU);
  const systems: Partial<Record<SessionSystem, RunningSystem>> = {};
  const frames: Partial<Record<SessionSystem, string>> = {};
  const signIn: Partial<Record<'memory' | 'redis', { seconds: number; per_second: number }>> = {};
  let headerSize = 0;
  try {
    const start = (system: SystemName, sessionStore?: Record<string, unknown>) =>
      startSystem(system, 'rbac', {
        idp,
        dir: scratch,
        logLevel: settings.gatehouse_log_level,
        ...(sessionStore === undefined ? {} : { sessionStore }),
      });
    systems.memory = await start('gatehouse', { kind: 'memory' });
    systems.redis = await start('gatehouse', {
      kind: 'redis',
      url: redis.url,
      key_prefix: 'gatehouse-bench:',
    });
    for (const store of ['memory', 'redis'] as const) {
      const system = systems[store] as RunningSystem;
      log(`sessions: signing ${count} users in to Gatehouse (store ${store})`);
      const t0 = Date.now();
      const cookies = await signInUsers(system.port, idp.issuer, count, { concurrency: 16 });
      const seconds = (Date.now() - t0) / 1000;
      signIn[store] = { seconds: round(seconds, 1), per_second: Math.round(count / seconds) };
      log(`  ${count} sign-ins in ${round(seconds, 1)} s`);
      if (!(await grpcProbe(system.port, trafficGrpcBody(cookies[0] as string, 'session'))))
        throw new Error(`sessions: Gatehouse (${store}) does not allow the session request`);
      // The stage measures sessions, not a policy that lets anyone in.
      if (await grpcProbe(system.port, trafficGrpcBody('not-a-session', 'session')))
        throw new Error(`sessions: Gatehouse (${store}) allowed a request without a session`);
      // The other store's Gatehouse has other keys: a session from one is no session at the other.
      frames[store] = writeTrafficFrames(scratch, `sessions-${store}`, cookies, 'session');
      headerSize = headerBytes(trafficRequestJson(cookies[0] as string, 0, 'session'));
    }
    const tokens = mintTokens(idp, 'RS256', count);
    frames.gatehouse_bearer = writeTrafficFrames(scratch, `sessions-bearer`, tokens);
    frames.plugin_bearer = frames.gatehouse_bearer;
    systems.gatehouse_bearer = await start('gatehouse');
    systems.plugin_bearer = await start('plugin');
    const order: SessionSystem[] = ['memory', 'redis', 'gatehouse_bearer', 'plugin_bearer'];
    const base = (which: SessionSystem) => ({
      port: (systems[which] as RunningSystem).port,
      framesFile: frames[which] as string,
      concurrency: settings.concurrency,
      connections: settings.connections,
    });
    for (const which of order) {
      if (which !== 'memory' && which !== 'redis') {
        const system = systems[which] as RunningSystem;
        if (!(await grpcProbe(system.port, trafficGrpcBody(tokens[0] as string))))
          throw new Error(`sessions: ${which} does not allow the bearer request`);
      }
      // One pass over every session (or token) first: the caches are warm, as in production.
      const warm = await loadgen({ ...base(which), requests: count });
      if (warm.errors > 0)
        throw new Error(`sessions: ${which}: ${JSON.stringify(warm.error_kinds)}`);
    }
    const redisCpu = { ms: 0, requests: 0 };
    const maxes: Record<SessionSystem, LoadResult[]> = {
      memory: [],
      redis: [],
      gatehouse_bearer: [],
      plugin_bearer: [],
    };
    for (let pass = 1; pass <= settings.session_rounds; pass++) {
      for (const which of order) {
        const system = systems[which] as RunningSystem;
        const redisBefore = sampleProc(redis.process.pid).cpuMs;
        const max = await measured(system, () =>
          loadgen({ ...base(which), seconds: settings.max_s }),
        );
        if (which === 'redis') {
          redisCpu.ms += sampleProc(redis.process.pid).cpuMs - redisBefore;
          redisCpu.requests += max.requests;
        }
        log(`  round ${pass} ${which}: max ${fmt(max)}`);
        if (max.errors > 0)
          throw new Error(`sessions: ${which}: errors ${JSON.stringify(max.error_kinds)}`);
        maxes[which].push(max);
      }
    }
    const runs = {} as Record<SessionSystem, SessionStoreRun>;
    for (const which of order) {
      const system = systems[which] as RunningSystem;
      const rates: LoadResult[] = [];
      for (const rps of settings.session_rates) {
        await loadgen({ ...base(which), rps, seconds: settings.rate_warmup_s });
        const r = await measured(system, () =>
          loadgen({ ...base(which), rps, seconds: settings.rate_s }),
        );
        log(`  ${which}: ${fmt(r)}`);
        rates.push(r);
      }
      const sorted = maxes[which].map((m) => m.achieved_rps).sort((a, b) => a - b);
      runs[which] = {
        max: maxes[which],
        median_rps: sorted[Math.floor(sorted.length / 2)] ?? 0,
        rates,
        rss_end_mb: round(sampleProc(system.process.pid).rssMb, 1),
      };
    }
    const ratio = (a: SessionSystem, b: SessionSystem): number =>
      round(runs[a].median_rps / Math.max(1, runs[b].median_rps), 2);
    const result: SessionsRun = {
      measured: { date: new Date().toISOString(), commit: commitNow(), quick },
      loadavg_at_start: loadavgAtStart,
      sessions: count,
      header_bytes: headerSize,
      sign_in: signIn as SessionsRun['sign_in'],
      rounds: settings.session_rounds,
      runs,
      redis_cpu_ms_per_1k: round((redisCpu.ms / Math.max(1, redisCpu.requests)) * 1000, 1),
      ratio_redis_memory: ratio('redis', 'memory'),
      ratio_memory_bearer: ratio('memory', 'gatehouse_bearer'),
      ratio_redis_plugin: ratio('redis', 'plugin_bearer'),
    };
    log(
      `sessions: redis ÷ memory ${result.ratio_redis_memory} (target ≥ 0.90); memory sessions ÷ Gatehouse bearer ${result.ratio_memory_bearer}; redis sessions ÷ plugin bearer ${result.ratio_redis_plugin}`,
    );
    return result;
  } finally {
    for (const system of Object.values(systems)) await system.process.stop();
    await redis.stop();
  }
}

/**
 * What the traffic load generator can drive at all: its closed loop with 10,000 distinct
 * production-shaped requests against the constant-allow server (which still decodes each one).
 */
async function loadgenCeiling(idp: Idp): Promise<LoadResult> {
  const port = await freePort();
  const server = spawnPinned(SERVER_CPU, process.execPath, [
    join(ROOT, 'dist', 'bench', 'transport-server.js'),
    'http2',
    String(port),
  ]);
  try {
    await waitFor(
      'constant-allow server',
      () =>
        new Promise((resolve) => {
          const s = netConnect(port, '127.0.0.1', () => {
            s.end();
            resolve(true);
          }).once('error', () => resolve(false));
        }),
    );
    const framesFile = writeTrafficFrames(scratch, 'ceiling', mintTokens(idp, 'ES256', 10_000));
    const base = {
      port,
      framesFile,
      concurrency: settings.concurrency,
      connections: settings.connections,
    };
    await loadgen({ ...base, seconds: settings.warmup_s });
    const before = sampleProc(server.pid);
    const max = await loadgen({ ...base, seconds: settings.max_s });
    const after = sampleProc(server.pid);
    const result = {
      ...max,
      cpu_ms_per_1k: round(((after.cpuMs - before.cpuMs) / Math.max(1, max.requests)) * 1000, 1),
    };
    log(`traffic: load generator ceiling (constant-allow server) ${fmt(result)}`);
    return result;
  } finally {
    await server.stop();
  }
}

/**
 * What each load generator can drive at all: the closed loop against a server that answers every
 * Check with one pre-built allow (bench/transport-server.ts, the same node:http2 gRPC server
 * Gatehouse uses) on the server CPU. A system measured near this ceiling is bounded by the load
 * generator's core, not by its own.
 */
async function loadGeneratorCeiling(idp: Idp): Promise<NonNullable<Results['ceiling']>> {
  log('ceiling: ghz and h2load against a constant-allow server');
  const port = await freePort();
  const server = spawnPinned(SERVER_CPU, process.execPath, [
    join(ROOT, 'dist', 'bench', 'transport-server.js'),
    'http2',
    String(port),
  ]);
  try {
    await waitFor(
      'constant-allow server',
      () =>
        new Promise((resolve) => {
          const s = netConnect(port, '127.0.0.1', () => {
            s.end();
            resolve(true);
          }).once('error', () => resolve(false));
        }),
    );
    const base = {
      port,
      dataFile: writeCheckRequest(scratch, 'rbac', idp.token),
      concurrency: settings.concurrency,
      connections: settings.connections,
    };
    await ghz({ ...base, seconds: settings.warmup_s });
    const ghzMax = await ghz({ ...base, seconds: settings.max_s });
    const h2 = await h2loadGrpc(port, writeGrpcBody('rbac', idp.token), server.pid);
    // The latency floor of this load generator, machine and Node.js HTTP/2 at 1,000 rps.
    const floor = await ghz({ ...base, rps: 1000, seconds: settings.rate_s });
    log(
      `  ghz ${ghzMax.achieved_rps} rps, h2load ${h2.achieved_rps} rps; at 1,000 rps ${fmt(floor)}`,
    );
    return { ghz: ghzMax, h2load: h2, floor_1000: floor };
  } finally {
    await server.stop();
  }
}

/** An executable that runs Envoy pinned to the server CPU (startEnvoy spawns `bin` directly). */
function pinnedEnvoyBin(): string {
  const envoy = join(ROOT, '.tools', 'bin', 'envoy');
  const wrapper = join(scratch, 'envoy-pinned');
  writeFileSync(wrapper, `#!/bin/sh\nexec taskset -c ${SERVER_CPU} '${envoy}' "$@"\n`);
  chmodSync(wrapper, 0o755);
  return wrapper;
}

function withoutExtAuthz(config: Record<string, unknown>): void {
  type Filter = { name?: string; typed_config?: { http_filters?: { name?: string }[] } };
  const listeners = (
    config['static_resources'] as { listeners: { filter_chains: { filters: Filter[] }[] }[] }
  ).listeners;
  for (const listener of listeners)
    for (const chain of listener.filter_chains)
      for (const filter of chain.filters) {
        const http = filter.typed_config?.http_filters;
        if (http !== undefined)
          filter.typed_config!.http_filters = http.filter(
            (f) => f.name !== 'envoy.filters.http.ext_authz',
          );
      }
}

async function endToEnd(idp: Idp): Promise<Record<SystemName | 'envoy', E2eRun>> {
  const out = {} as Record<SystemName | 'envoy', E2eRun>;
  const upstreamPort = await freePort();
  const upstream = spawnPinned(SERVER_CPU, process.execPath, [
    join(ROOT, 'dist', 'bench', 'upstream.js'),
    String(upstreamPort),
  ]);
  const bin = pinnedEnvoyBin();
  const headers = [`authorization: Bearer ${idp.token}`, 'accept: application/json'];
  try {
    await waitFor(
      'upstream',
      () =>
        new Promise((resolve) => {
          const s = netConnect(upstreamPort, '127.0.0.1', () => {
            s.end();
            resolve(true);
          }).once('error', () => resolve(false));
        }),
    );
    for (const which of ['envoy', ...SYSTEMS] as const) {
      log(`e2e ${which}: starting`);
      const authz =
        which === 'envoy'
          ? undefined
          : await startSystem(which, 'rbac', {
              idp,
              dir: scratch,
              logLevel: settings.gatehouse_log_level,
            });
      const envoy = await startEnvoy({
        bin,
        gatehousePort: authz?.port ?? 1,
        upstreams: { app: upstreamPort },
        ...(which === 'envoy' ? { patch: withoutExtAuthz } : {}),
      }).catch(async (err: unknown) => {
        await authz?.process.stop();
        throw err;
      });
      try {
        const url = `${envoy.url}/api/items?page=2`;
        const ok = await fetch(url, { headers: { authorization: `Bearer ${idp.token}` } });
        if (ok.status !== 200)
          throw new Error(`e2e ${which}: GET with the token answered ${ok.status}`);
        if (which !== 'envoy') {
          const denied = await fetch(url, { headers: { accept: 'application/json' } });
          if (denied.status < 400)
            throw new Error(`e2e ${which}: GET without a token answered ${denied.status}`);
        }
        const logFile = join(scratch, `h2load-${which}.log`);
        await h2load({ url, headers, rps: 500, seconds: settings.warmup_s + 1, logFile });
        const rates: LoadResult[] = [];
        for (const rps of settings.e2e_rates) {
          const r = await h2load({ url, headers, rps, seconds: settings.e2e_s, logFile });
          const result = { ...r, broken: isBroken(r) };
          log(`  ${fmt(result)}`);
          rates.push(result);
        }
        const serial = await serialProbe(url, headers, settings.serial_requests);
        log(`  one at a time: ${fmt(serial)}`);
        out[which] = { rates, serial };
      } finally {
        await envoy.stop();
        await authz?.process.stop();
      }
    }
  } finally {
    await upstream.stop();
  }
  return out;
}

/**
 * `count` GETs one at a time on one keep-alive connection, 1 ms apart, from this process (on the
 * load CPU): the latency of a single request through the chain with no queueing and no load
 * generator's rate pacing, after 300 unmeasured ones.
 */
async function serialProbe(
  url: string,
  headers: readonly string[],
  count: number,
): Promise<LoadResult> {
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const headerObject = Object.fromEntries(
    headers.map((h) => [h.slice(0, h.indexOf(':')).trim(), h.slice(h.indexOf(':') + 1).trim()]),
  );
  const once = (): Promise<[number, number]> =>
    new Promise((resolve, reject) => {
      const started = process.hrtime.bigint();
      const req = httpRequest(url, { agent, headers: headerObject }, (res) => {
        res.resume();
        res.once('end', () =>
          resolve([res.statusCode ?? 0, Number(process.hrtime.bigint() - started) / 1e3]),
        );
      });
      req.once('error', reject);
      req.end();
    });
  try {
    for (let i = 0; i < 300; i++) await once();
    const latencies = new Float64Array(count);
    let errors = 0;
    const t0 = Date.now();
    for (let i = 0; i < count; i++) {
      const [status, latencyUs] = await once();
      if (status !== 200) errors++;
      latencies[i] = latencyUs;
      await sleep(1);
    }
    return {
      achieved_rps: Math.round(count / ((Date.now() - t0) / 1000)),
      requests: count,
      errors,
      ...percentiles(latencies),
    };
  } finally {
    agent.destroy();
  }
}

/**
 * The soak: `soak_checks` production-shaped Checks through Gatehouse (role-based), each carrying
 * one of `soak_tokens` distinct RS256 tokens round-robin (more than the 10,000-entry caches hold,
 * so every Check verifies and signs afresh and the caches evict all the time), closed loop, in
 * chunks of at most 50,000, each half within half of `soak_max_s`, so that the run stops in time
 * even on a slow machine (the report then says how many Checks it sent). RSS at the start, the middle (half the Checks) and
 * the end, and every second in between.
 */
async function soak(idp: Idp): Promise<SoakRun> {
  const checks = settings.soak_checks;
  const tokens = mintTokens(idp, 'RS256', settings.soak_tokens);
  const framesFile = writeTrafficFrames(scratch, `soak-${settings.soak_tokens}`, tokens);
  log(
    `soak: ${checks} Checks through Gatehouse (rbac, ${settings.soak_tokens} distinct tokens), at most ${settings.soak_max_s} s`,
  );
  const system = await startSystem('gatehouse', 'rbac', {
    idp,
    dir: scratch,
    logLevel: settings.gatehouse_log_level,
  });
  const series: [number, number][] = [];
  const t0 = Date.now();
  const sampler = setInterval(() => {
    try {
      series.push([
        round((Date.now() - t0) / 1000, 1),
        round(sampleProc(system.process.pid).rssMb, 1),
      ]);
    } catch {
      // the process is gone; the load generator reports errors
    }
  }, 1000);
  try {
    if (!(await grpcProbe(system.port, trafficGrpcBody(tokens[0] as string))))
      throw new Error('soak: Gatehouse does not allow the traffic request');
    const base = {
      port: system.port,
      framesFile,
      concurrency: settings.concurrency,
      connections: settings.connections,
    };
    await loadgen({ ...base, seconds: settings.warmup_s });
    const start = sampleProc(system.process.pid);
    const tStart = Date.now();
    /**
     * Up to `count` Checks in chunks, stopping at `deadline` (each half gets half the time bound,
     * so a slow machine still measures a second half).
     */
    const half = async (count: number, deadline: number): Promise<LoadResult[]> => {
      const chunks: LoadResult[] = [];
      let sent = 0;
      while (sent < count && Date.now() < deadline - 1000) {
        const seconds = Math.max(1, Math.floor((deadline - Date.now()) / 1000));
        const r = await loadgen({ ...base, requests: Math.min(50_000, count - sent), seconds });
        chunks.push(r);
        sent += r.requests;
      }
      return chunks;
    };
    const combine = (chunks: LoadResult[]): LoadResult => {
      const requests = chunks.reduce((n, c) => n + c.requests, 0);
      const weighted = (f: (c: LoadResult) => number): number =>
        chunks.reduce((n, c) => n + f(c) * c.requests, 0) / Math.max(1, requests);
      return {
        achieved_rps: Math.round(weighted((c) => c.achieved_rps)),
        requests,
        errors: chunks.reduce((n, c) => n + c.errors, 0),
        // Per chunk percentiles, request-weighted: an approximation of the half's own.
        p50_ms: round(weighted((c) => c.p50_ms)),
        p99_ms: round(weighted((c) => c.p99_ms)),
        p999_ms: round(weighted((c) => c.p999_ms)),
        max_ms: Math.max(0, ...chunks.map((c) => c.max_ms)),
      };
    };
    const budget = settings.soak_max_s * 1000;
    const first = combine(await half(Math.ceil(checks / 2), tStart + budget / 2));
    const middle = sampleProc(system.process.pid);
    log(`  first half: ${fmt(first)}, rss ${round(middle.rssMb, 1)} MB`);
    const second = combine(await half(Math.floor(checks / 2), tStart + budget));
    const end = sampleProc(system.process.pid);
    log(`  second half: ${fmt(second)}, rss ${round(end.rssMb, 1)} MB`);
    const requests = first.requests + second.requests;
    if (requests < checks)
      log(`  soak: stopped at ${settings.soak_max_s} s after ${requests} Checks`);
    return {
      checks: requests,
      planned_checks: checks,
      distinct_tokens: settings.soak_tokens,
      errors: first.errors + second.errors,
      duration_s: round((Date.now() - tStart) / 1000, 1),
      achieved_rps: Math.round(requests / ((Date.now() - tStart) / 1000)),
      rss_start_mb: round(start.rssMb, 1),
      rss_middle_mb: round(middle.rssMb, 1),
      rss_end_mb: round(end.rssMb, 1),
      rss_max_mb: Math.max(end.rssMb, ...series.map(([, r]) => r)),
      growth_second_half_pct: round(((end.rssMb - middle.rssMb) / middle.rssMb) * 100, 1),
      cpu_ms_per_1k: round(((end.cpuMs - start.cpuMs) / Math.max(1, requests)) * 1000, 1),
      halves: [first, second],
      series,
    };
  } finally {
    clearInterval(sampler);
    await system.process.stop();
  }
}

/** CPU time and RSS summed over a process and its descendants (a cluster primary and its workers). */
function sampleTree(pid: number): { cpuMs: number; rssMb: number; processes: number } {
  let cpuMs = 0;
  let rssMb = 0;
  let processes = 0;
  const visit = (p: number): void => {
    try {
      const s = sampleProc(p);
      cpuMs += s.cpuMs;
      rssMb += s.rssMb;
      processes++;
      for (const task of readdirSync(`/proc/${p}/task`)) {
        for (const child of readFileSync(`/proc/${p}/task/${task}/children`, 'utf8')
          .trim()
          .split(/\s+/))
          if (child !== '') visit(Number(child));
      }
    } catch {
      // exited meanwhile
    }
  };
  visit(pid);
  return { cpuMs, rssMb, processes };
}

/** Busy jiffies and total jiffies per CPU, from /proc/stat. */
function cpuTimes(): Map<string, { busy: number; total: number }> {
  const out = new Map<string, { busy: number; total: number }>();
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^(cpu\d+)\s+(.*)$/.exec(line);
    if (m === null) continue;
    const f = m[2]!.split(/\s+/).map(Number);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    out.set(m[1]!, { busy: total - idle, total });
  }
  return out;
}

/**
 * Role-based closed-loop maximum with one worker on the server CPU, two workers on both CPUs
 * (ghz stays on CPU 0, sharing it with a worker: a lower bound), and two workers on the server
 * CPU alone (what the cluster itself costs when it cannot use another core).
 */
async function scaling(idp: Idp): Promise<ScalingRun> {
  const dataFile = writeCheckRequest(scratch, 'rbac', idp.token);
  const bodyFile = writeGrpcBody('rbac', idp.token);
  const both = `${LOAD_CPU},${SERVER_CPU}`;
  const runs: {
    key: 'one_core' | 'two_cores' | 'two_workers_one_core';
    workers: number;
    cpus: string;
  }[] = [
    { key: 'one_core', workers: 1, cpus: String(SERVER_CPU) },
    { key: 'two_cores', workers: 2, cpus: both },
    { key: 'two_workers_one_core', workers: 2, cpus: String(SERVER_CPU) },
  ];
  const points = {} as Record<(typeof runs)[number]['key'], ScalingPoint>;
  for (const { key, workers, cpus } of runs) {
    log(`scaling: workers ${workers} on CPU ${cpus}: starting`);
    const system = await startSystem('gatehouse', 'rbac', {
      idp,
      dir: scratch,
      logLevel: settings.gatehouse_log_level,
      workers,
      cpus,
    });
    try {
      const base = {
        port: system.port,
        dataFile,
        concurrency: settings.concurrency,
        connections: settings.connections,
      };
      await ghz({ ...base, seconds: settings.warmup_s });
      const before = sampleTree(system.process.pid);
      const cpuBefore = cpuTimes();
      const t0 = Date.now();
      const max = await ghz({ ...base, seconds: settings.max_s });
      const wallMs = Date.now() - t0;
      const after = sampleTree(system.process.pid);
      const cpuAfter = cpuTimes();
      const busy: Record<string, number> = {};
      for (const [cpu, a] of cpuAfter) {
        const b = cpuBefore.get(cpu);
        if (b !== undefined && a.total > b.total)
          busy[cpu] = round((a.busy - b.busy) / (a.total - b.total), 2);
      }
      const serverMs = after.cpuMs - before.cpuMs;
      // The same load from h2load (raw HTTP/2 gRPC frames; far cheaper per request than ghz).
      const h2 = await h2loadGrpc(system.port, bodyFile, system.process.pid);
      points[key] = {
        workers,
        cpus,
        processes: after.processes,
        max,
        server_cores_used: round(serverMs / wallMs, 2),
        cpu_ms_per_1k: round((serverMs / Math.max(1, max.requests)) * 1000, 1),
        rss_mb: round(after.rssMb, 1),
        cpu_busy: busy,
        h2load: h2,
      };
      log(
        `  ghz ${fmt(max)}; Gatehouse used ${points[key].server_cores_used} cores (${after.processes} processes), CPU busy ${JSON.stringify(busy)}`,
      );
      log(
        `  h2load closed loop: ${h2.achieved_rps} rps, mean ${h2.mean_ms} ms, errors ${h2.errors}; Gatehouse used ${h2.server_cores_used} cores, CPU busy ${JSON.stringify(h2.cpu_busy)}`,
      );
    } finally {
      await system.process.stop(15_000);
    }
  }
  const ratio = round(points.two_cores.max.achieved_rps / points.one_core.max.achieved_rps, 2);
  const h2Ratio = round(
    points.two_cores.h2load.achieved_rps / points.one_core.h2load.achieved_rps,
    2,
  );
  log(
    `scaling: ${ratio}× with ghz, ${h2Ratio}× with h2load, from one core to two (lower bounds: the load generator shares CPU ${LOAD_CPU})`,
  );
  return {
    measured: { date: new Date().toISOString(), commit: commitNow(), quick },
    ratio,
    h2load_ratio: h2Ratio,
    ...points,
  };
}

/** The rbac CheckRequest as a gRPC unary request body (5-byte length prefix + protobuf), for h2load. */
function writeGrpcBody(scenario: ScenarioName, token: string): string {
  const message = toBinary(
    CheckRequestSchema,
    fromJson(CheckRequestSchema, checkRequestJson(scenario, token)),
  );
  const body = Buffer.alloc(5 + message.length);
  body.writeUInt32BE(message.length, 1);
  body.set(message, 5);
  const file = join(scratch, `check-${scenario}.grpc`);
  writeFileSync(file, body);
  return file;
}

/** One gRPC Check over raw HTTP/2 with `body`: true when grpc-status is 0 and Envoy would allow. */
function grpcProbe(port: number, body: Buffer): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.once('error', reject);
    const req = session.request({
      ':method': 'POST',
      ':path': CHECK_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const chunks: Buffer[] = [];
    let status: string | undefined;
    req.on('trailers', (t) => (status = String(t['grpc-status'])));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('error', reject);
    req.on('end', () => {
      session.close();
      const data = Buffer.concat(chunks);
      if (status !== '0' || data.length < 5) return resolve(false);
      const response = fromBinary(CheckResponseSchema, data.subarray(5, 5 + data.readUInt32BE(1)));
      resolve(
        (response.status?.code ?? 0) === 0 && response.httpResponse.case !== 'deniedResponse',
      );
    });
    req.end(body);
  });
}

const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';

/**
 * Closed-loop h2load on the load CPU with the same shape as ghz (4 connections, ~50 streams in
 * flight). h2load sees HTTP statuses, not grpc-status, so a probe proves the body is a Check
 * Gatehouse allows, before and after.
 */
async function h2loadGrpc(port: number, bodyFile: string, pid: number): Promise<H2loadMax> {
  const body = readFileSync(bodyFile);
  if (!(await grpcProbe(port, body)))
    throw new Error('h2load body: the probe Check was not allowed with grpc-status 0');
  // Warm up the same connections' worth of code paths first, as ghz's runs are.
  await run('h2load', [...h2loadArgs(port, bodyFile), '-D', String(settings.warmup_s)], {
    cpu: LOAD_CPU,
  });
  const args = [...h2loadArgs(port, bodyFile), '-D', String(settings.max_s)];
  const before = sampleTree(pid);
  const cpuBefore = cpuTimes();
  const t0 = Date.now();
  const summary = await run('h2load', args, { cpu: LOAD_CPU });
  const wallMs = Date.now() - t0;
  const after = sampleTree(pid);
  const cpuAfter = cpuTimes();
  const busy: Record<string, number> = {};
  for (const [cpu, a] of cpuAfter) {
    const b = cpuBefore.get(cpu);
    if (b !== undefined && a.total > b.total)
      busy[cpu] = round((a.busy - b.busy) / (a.total - b.total), 2);
  }
  if (!(await grpcProbe(port, body)))
    throw new Error('h2load: the server stopped allowing the probe Check after the run');
  const rate = Number(/finished in [\d.]+\w*, ([\d.]+) req\/s/.exec(summary)?.[1] ?? NaN);
  const req =
    /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
      summary,
    );
  const mean = /time for request:\s+\S+\s+\S+\s+(\S+)/.exec(summary)?.[1] ?? '';
  const meanMs = mean.endsWith('us')
    ? Number(mean.slice(0, -2)) / 1000
    : mean.endsWith('ms')
      ? Number(mean.slice(0, -2))
      : Number(mean.slice(0, -1)) * 1000;
  const requests = Number(req?.[2] ?? 0);
  return {
    achieved_rps: Math.round(rate),
    requests,
    errors: Number(req?.[4] ?? 0) + Number(req?.[5] ?? 0) + Number(req?.[6] ?? 0),
    mean_ms: round(meanMs, 2),
    server_cores_used: round((after.cpuMs - before.cpuMs) / wallMs, 2),
    cpu_ms_per_1k: round(((after.cpuMs - before.cpuMs) / Math.max(1, requests)) * 1000, 1),
    cpu_busy: busy,
  };
}

/** h2load's closed loop with ghz's shape: 4 connections, ~50 streams in flight, the gRPC body. */
function h2loadArgs(port: number, bodyFile: string): string[] {
  const streams = Math.ceil(settings.concurrency / settings.connections);
  return [
    '-c',
    String(settings.connections),
    '-m',
    String(streams),
    '-d',
    bodyFile,
    '-H',
    'content-type: application/grpc',
    '-H',
    'te: trailers',
    `http://127.0.0.1:${port}${CHECK_PATH}`,
  ];
}

function commitNow(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--', 'src'], {
        cwd: ROOT,
        encoding: 'utf8',
      }).trim() !== '';
    return head + (dirty ? ' (modified)' : '');
  } catch {
    return 'unknown';
  }
}

/** `--merge`: fill the stages this run did not measure from the stored results (and their meta). */
function mergeInto(results: Results, stored: Results): void {
  // Where each kept stage was measured: its own earlier stamp, or the stored run's.
  const kept: Record<string, { date: string; commit: string }> = {};
  const stamp = (stage: 'check' | 'traffic' | 'e2e' | 'soak') =>
    (kept[stage] = stored.meta.merged?.[stage] ?? {
      date: stored.meta.date,
      commit: stored.meta.commit,
    });
  if (results.check === undefined && stored.check !== undefined) {
    results.check = stored.check;
    if (stored.ceiling !== undefined) results.ceiling = stored.ceiling;
    stamp('check');
  }
  if (results.e2e === undefined && stored.e2e !== undefined) {
    results.e2e = stored.e2e;
    stamp('e2e');
  }
  if (results.soak === undefined && stored.soak !== undefined) {
    results.soak = stored.soak;
    stamp('soak');
  }
  if (results.traffic === undefined && stored.traffic !== undefined) {
    results.traffic = stored.traffic;
    if (stored.traffic_ceiling !== undefined) results.traffic_ceiling = stored.traffic_ceiling;
    stamp('traffic');
  }
  if (results.scaling === undefined && stored.scaling !== undefined)
    results.scaling = stored.scaling;
  if (results.sessions === undefined && stored.sessions !== undefined)
    results.sessions = stored.sessions;
  // The header describes the check / traffic / e2e / soak run it came from; the scaling and
  // sessions sections carry their own date.
  if (!['check', 'traffic', 'e2e', 'soak'].some((stage) => stages.has(stage)))
    results.meta = stored.meta;
  else if (Object.keys(kept).length > 0) results.meta = { ...results.meta, merged: kept };
}

/** Gatehouse under the rbac scenario with `node --cpu-prof`, closed loop for `seconds`. */
async function profile(idp: Idp, seconds: number): Promise<void> {
  const dir = join(resultsDir, 'profile');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // --profile-tokens N: production-shaped traffic with N distinct RS256 tokens (bench/traffic.ts),
  // minted before Gatehouse starts so the profile is the load, not the wait.
  const tokens = Number(args['profile-tokens'] ?? 0);
  const profileTokens = tokens > 0 ? mintTokens(idp, 'RS256', tokens) : [];
  const framesFile =
    tokens > 0 ? writeTrafficFrames(scratch, `profile-${tokens}`, profileTokens) : undefined;
  const system = await startSystem('gatehouse', 'rbac', {
    idp,
    dir: scratch,
    logLevel: settings.gatehouse_log_level,
    nodeFlags: ['--cpu-prof', '--cpu-prof-dir', dir],
  });
  try {
    const load = { concurrency: settings.concurrency, connections: settings.connections };
    let r: LoadResult;
    if (framesFile !== undefined) {
      if (!(await grpcProbe(system.port, trafficGrpcBody(profileTokens[0] as string))))
        throw new Error('profile: Gatehouse does not allow the traffic request');
      r = await loadgen({ port: system.port, framesFile, seconds, ...load });
    } else {
      const dataFile = writeCheckRequest(scratch, 'rbac', idp.token);
      r = await ghz({ port: system.port, dataFile, seconds, ...load });
    }
    log(`profile load: ${fmt(r)}`);
  } finally {
    await system.process.stop(15_000);
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`no .cpuprofile written in ${dir}`);
  const summary = summariseProfile(JSON.parse(readFileSync(join(dir, file), 'utf8')), { top: 30 });
  const summaryName = tokens > 0 ? `profile-traffic-${tokens}.txt` : 'profile-rbac.txt';
  writeFileSync(join(resultsDir, summaryName), summary);
  process.stdout.write(summary);
  log(
    `profile: ${join(dir, file)} (open in Chrome DevTools), summary in bench/results/${summaryName}`,
  );
}

function version(cmd: string, argv: string[], pattern: RegExp): string {
  try {
    const r = spawnSync(cmd, argv, { encoding: 'utf8' });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`; // some print their version on stderr
    return pattern.exec(out)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function meta(): Results['meta'] {
  const git = (a: string[]): string => {
    try {
      return execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  };
  return {
    name,
    date: new Date().toISOString(),
    commit:
      git(['rev-parse', '--short', 'HEAD']) +
      (git(['status', '--porcelain', '--', 'src']) === '' ? '' : ' (modified)'),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    loadavg_at_start: loadavg().map((x) => round(x, 2)),
    versions: {
      gatehouse: (
        JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
      ).version,
      node: process.version,
      opa_envoy_plugin: version(PLUGIN_BIN, ['version'], /Version:\s*(\S+)/),
      envoy: version(join(ROOT, '.tools', 'bin', 'envoy'), ['--version'], /\/(\d+\.\d+\.\d+)\//),
      // go-installed ghz says `dev`; the module version is in the binary's build info.
      ghz: version(
        'go',
        ['version', '-m', join(ROOT, '.tools', 'bin', 'ghz')],
        /mod\s+github\.com\/bojand\/ghz\s+v(\S+)/,
      ),
      h2load: version('h2load', ['--version'], /nghttp2\/(\S+)/),
    },
    cpus: { load_generator: LOAD_CPU, server: SERVER_CPU },
    settings,
  };
}

async function main(): Promise<void> {
  mkdirSync(resultsDir, { recursive: true });
  const idp = await startIdp();
  try {
    if (args.profile !== undefined) {
      await profile(idp, Number(args.profile) || 10);
      return;
    }
    const stageSeconds: Record<string, number> = {};
    const results: Results = { meta: { ...meta(), stage_seconds: stageSeconds } };
    if (stages.has('check')) {
      const t0 = Date.now();
      results.ceiling = await loadGeneratorCeiling(idp);
      results.check = await checkLevel(idp);
      stageSeconds['check'] = Math.round((Date.now() - t0) / 1000);
    }
    const timed = async <T>(stage: string, f: () => Promise<T>): Promise<T> => {
      const t0 = Date.now();
      const value = await f();
      const seconds = Math.round((Date.now() - t0) / 1000);
      stageSeconds[stage] = seconds;
      log(`${stage}: ${seconds} s`);
      return value;
    };
    if (stages.has('traffic')) {
      results.traffic = await timed('traffic', () => trafficStage(idp));
      if (trafficCeiling !== undefined) results.traffic_ceiling = trafficCeiling;
    }
    if (stages.has('e2e')) results.e2e = await timed('e2e', () => endToEnd(idp));
    if (stages.has('soak')) results.soak = await timed('soak', () => soak(idp));
    if (stages.has('sessions'))
      results.sessions = await timed('sessions', () => sessionsStage(idp));
    if (stages.has('scaling')) results.scaling = await timed('scaling', () => scaling(idp));
    const file = join(resultsDir, `${name}.json`);
    const stored =
      args.merge && existsSync(file)
        ? (JSON.parse(readFileSync(file, 'utf8')) as Results)
        : undefined;
    if (stored !== undefined) mergeInto(results, stored);
    // Merged: the stored file's key order, so that its diff is the stages rerun.
    writeFileSync(file, `${JSON.stringify({ ...stored, ...results }, null, 1)}\n`);
    log(`results: ${file}`);
    const markdown = renderAndWrite(results, { docs: !args['no-docs'] });
    process.stdout.write(`${markdown}\n`);
  } finally {
    await idp.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    log(`FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    rmSync(scratch, { recursive: true, force: true });
    process.exit(1);
  },
);

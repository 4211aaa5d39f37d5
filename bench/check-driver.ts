/**
 * In-process driver for the traffic stage's Checks: Gatehouse's Check handler, built as
 * `gatehouse serve` builds it (src/server/start.ts: identity, policy engine, decision log, metrics,
 * observer), called directly with the traffic stage's CheckRequests (bench/traffic.ts), N distinct
 * RS256 tokens round-robin. No gRPC, no HTTP/2, no protobuf decoding (the requests are decoded once,
 * before measuring), no load generator: it measures Gatehouse's own work per Check, as CPU time
 * (process.cpuUsage) per Check.
 *
 *   node --max-semi-space-size=8 --heap-growing-percent=100 --no-allocation-site-pretenuring dist/bench/check-driver.js --tokens 10000 --checks 20000 --rounds 3 [--stages] [--cpu-profile FILE] [--alloc-profile]
 *
 * Prints one line per round: `round <i>: <µs> CPU µs/Check (<user>+<sys>), <wall> wall µs/Check`.
 * The decision log is written at `info` to /dev/null (the lines are built and written as in
 * production, to a file that costs nothing to append to).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { fromJson } from '@bufbuild/protobuf';
import { stringify } from 'yaml';
import { createCheckHandler } from '../src/check/handle.js';
import { buildInput } from '../src/input/build.js';
import { normalizeDecision } from '../src/decision/normalize.js';
import { identityHeaderMutations } from '../src/identity/assertion/headers.js';
import { decisionToCheckResponse, isEnvoyHttpStatus } from '../src/response/check-response.js';
import { requestView } from '../src/input/request-view.js';
import { loadConfig } from '../src/config/load.js';
import {
  type CheckRequest,
  CheckRequestSchema,
} from '../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { DecisionLog } from '../src/log/decision-log.js';
import { createLogger, stdoutDestination } from '../src/log/logger.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { createCheckObserver } from '../src/observability/check.js';
import { PolicyEngine } from '../src/policy/engine.js';
import { setupIdentity } from '../src/server/identity.js';
import { createTracer } from '../src/tracing/tracer.js';
import { type AllocationNode, bytesBySite } from './heap-profile.js';
import { ROOT } from './lib.js';
import { API_AUDIENCE, CLIENT_ID, startIdp } from './systems.js';
import { mintTokens, trafficRequestJson } from './traffic.js';

const { values: args } = parseArgs({
  options: {
    tokens: { type: 'string', default: '10000' },
    checks: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '1' },
    /** Write a .cpuprofile of the measured rounds only (not the set-up or the warm-up). */
    'cpu-profile': { type: 'string' },
    /**
     * Sample what the measured rounds allocate (V8's sampling heap profiler, every ~4 KiB,
     * short-lived objects included) and print the bytes per Check of each allocating function.
     */
    'alloc-profile': { type: 'boolean', default: false },
    /** Also time the Check's stages one by one (warm cache), each over `checks` requests. */
    stages: { type: 'boolean', default: false },
  },
});
const tokenCount = Number(args.tokens);
const checks = Number(args.checks);
const rounds = Number(args.rounds);
const concurrency = Number(args.concurrency);

const idp = await startIdp();
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-driver-'));
try {
  execFileSync(process.execPath, [
    join(ROOT, 'dist', 'src', 'cli', 'main.js'),
    'keygen',
    '--out',
    join(dir, 'keys'),
  ]);
  const configFile = join(dir, 'config.yaml');
  writeFileSync(
    configFile,
    stringify({
      grpc: { address: '127.0.0.1', port: 0 },
      http: { address: '127.0.0.1', port: 0 },
      policy: {
        dir: join(ROOT, 'bench', 'policies', 'gatehouse', 'rbac'),
        entrypoint: 'envoy/authz/allow',
        opa: join(ROOT, '.tools', 'bin', 'opa'),
        watch: false,
      },
      development: true,
      identity: {
        issuer: idp.issuer,
        client_id: CLIENT_ID,
        bearer: { audiences: [API_AUDIENCE] },
      },
      keys: { signing: [join(dir, 'keys', 'signing-key.pem')] },
      session: { secret: { file: join(dir, 'keys', 'session-secret') } },
      log: { level: 'info' },
    }),
  );
  const config = await loadConfig(configFile);
  const log = createLogger({
    level: 'info',
    // As `gatehouse serve` writes to stdout (src/log/logger.ts), but to /dev/null.
    destination: stdoutDestination({
      fd: openSync('/dev/null', 'a'),
      minLength: 4096,
      maxWrite: 16_384,
    }),
  });
  const metrics = createMetrics();
  const decisions = new DecisionLog(log, {
    sampleAllowed: config.log.sample_allowed,
    includeQuery: config.log.include_query,
  });
  const tracer = await createTracer(config.tracing);
  const identity = await setupIdentity(config, log, { metrics, tracer });
  const engine = new PolicyEngine({
    ...(config.policy.dir === undefined ? {} : { dir: config.policy.dir }),
    entrypoint: config.policy.entrypoint,
    opaPath: config.policy.opa,
    regoVersion: config.policy.rego_version,
    watch: false,
  });
  await engine.start();
  const check = createCheckHandler({
    policy: () => engine.current(),
    identity: identity.runtime,
    log,
    observer: createCheckObserver({ decisions, metrics, tracer, log }),
  });

  const tokens = mintTokens(idp, 'RS256', tokenCount);
  const requests: CheckRequest[] = tokens.map((t, i) =>
    fromJson(CheckRequestSchema, trafficRequestJson(t, i)),
  );
  const first = await check(requests[0] as CheckRequest);
  if (first.response.httpResponse.case !== 'okResponse')
    throw new Error(`the traffic request is not allowed: ${first.error?.code ?? 'denied'}`);

  let next = 0;
  const runChecks = async (count: number): Promise<void> => {
    let left = count;
    const lane = async () => {
      while (left > 0) {
        left--;
        const request = requests[next] as CheckRequest;
        next = (next + 1) % requests.length;
        const outcome = await check(request);
        if (outcome.response.httpResponse.case !== 'okResponse')
          throw new Error(`denied: ${outcome.error?.code ?? 'policy'}`);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
  };
  // Warm up: every token once (fills the verified-token cache when it holds them all), JIT.
  await runChecks(Math.max(requests.length, 5000));
  if (args.stages) {
    const policy = engine.current();
    if (policy === undefined) throw new Error('no policy');
    const observer = createCheckObserver({ decisions, metrics, tracer, log });
    const stage = async (name: string, fn: (request: CheckRequest) => unknown): Promise<void> => {
      for (let i = 0; i < 2000; i++) await fn(requests[i % requests.length] as CheckRequest);
      const cpu = process.cpuUsage();
      for (let i = 0; i < checks; i++) await fn(requests[i % requests.length] as CheckRequest);
      const used = process.cpuUsage(cpu);
      console.log(`stage ${name}: ${((used.user + used.system) / checks).toFixed(1)} CPU µs`);
    };
    const runtime = identity.runtime;
    const resolved = async (r: CheckRequest) => {
      const view = requestView(r);
      return { view, caller: await runtime.resolve(view.headers, view.host, undefined) };
    };
    await stage('requestView', (r) => requestView(r));
    await stage('resolve (cache hit)', (r) => resolved(r));
    await stage('resolve+buildInput', async (r) =>
      buildInput(r, (await resolved(r)).caller.identity),
    );
    await stage('resolve+buildInput+evaluate', async (r) =>
      policy.evaluate(buildInput(r, (await resolved(r)).caller.identity)),
    );
    await stage('resolve+assertion (cache hit)', async (r) => {
      const { view, caller } = await resolved(r);
      if (!caller.identity.authenticated || caller.kind !== 'bearer') throw new Error('anonymous');
      return runtime.assertion(caller.identity, view.host, caller.credential);
    });
    await stage('observer begin+end', async (r) => {
      const view = requestView(r);
      observer.begin(r, view).end(first, {
        request: r,
        view,
        revision: policy.revision,
        latencyUs: 100,
        identityError: undefined,
      });
    });
    const decision = normalizeDecision(true, isEnvoyHttpStatus);
    await stage('resolve+assertion+response', async (r) => {
      const { view, caller } = await resolved(r);
      if (!caller.identity.authenticated || caller.kind !== 'bearer') throw new Error('anonymous');
      const assertion = await runtime.assertion(caller.identity, view.host, caller.credential);
      const mutations = identityHeaderMutations({
        requestHeaders: view.headers,
        names: runtime.headerNames,
        identity: caller.identity,
        ...(assertion === undefined ? {} : { assertion }),
        sessionCookieNames: runtime.ownCookies,
      });
      return decisionToCheckResponse(decision, {
        requestHeaders: mutations.set.map(([name, value]) => ({ name, value })),
        removeRequestHeaders: [...mutations.remove],
        responseHeaders: [],
      });
    });
    await stage('whole Check', (r) => check(r));
  }
  const profiler = args['cpu-profile'] === undefined ? undefined : new Session();
  if (profiler !== undefined) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  const allocations = args['alloc-profile'] ? new Session() : undefined;
  if (allocations !== undefined) {
    allocations.connect();
    await allocations.post('HeapProfiler.enable');
    await allocations.post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMinorGC: true,
      includeObjectsCollectedByMajorGC: true,
    });
  }
  for (let round = 1; round <= rounds; round++) {
    const cpu = process.cpuUsage();
    const wall = process.hrtime.bigint();
    await runChecks(checks);
    const used = process.cpuUsage(cpu);
    const wallUs = Number(process.hrtime.bigint() - wall) / 1000;
    const per = (us: number) => (us / checks).toFixed(1);
    console.log(
      `round ${round}: ${per(used.user + used.system)} CPU µs/Check (${per(used.user)}+${per(used.system)}), ${per(wallUs)} wall µs/Check`,
    );
  }
  if (profiler !== undefined) {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(args['cpu-profile'] as string, JSON.stringify(profile));
    profiler.disconnect();
  }
  if (allocations !== undefined) {
    const { profile } = await allocations.post('HeapProfiler.stopSampling');
    allocations.disconnect();
    printAllocations(profile, rounds * checks);
  }
  engine.stop();
  await identity.close();
  await tracer.shutdown();
} finally {
  await idp.close();
  rmSync(dir, { recursive: true, force: true });
}

/** Bytes allocated per Check by each function (self), from a sampling heap profile; top 30. */
function printAllocations(profile: { readonly head: AllocationNode }, checkCount: number): void {
  const { total, sites } = bytesBySite(profile);
  console.log(`allocated: ${(total / checkCount / 1024).toFixed(1)} KB per Check (sampled)`);
  for (const [site, bytes] of sites.slice(0, 30))
    console.log(`${(bytes / checkCount).toFixed(0).padStart(8)} B  ${site}`);
}

/**
 * `npm run bench`: Gatehouse side by side with the OPA-Envoy plugin and with Envoy alone.
 *
 *   1. Check level: the same CheckRequests (ghz) to both systems, three scenarios (noop, rbac,
 *      headers): closed-loop maximum throughput, then fixed rates (500, 1,000, 2,000 rps and up
 *      until it breaks) with p50/p99/p99.9, CPU time per 1,000 Checks, resident memory, errors.
 *   2. End to end: HTTP (h2load) through the real Envoy (envoy/front-proxy.yaml) to a trivial
 *      upstream: Envoy alone, Envoy + Gatehouse, Envoy + plugin, at fixed rates.
 *   3. Soak: N Checks (default 1,000,000) through Gatehouse; RSS at start, middle and end.
 *
 * The load generators run on CPU 0, everything under test on CPU 1 (taskset). Results go to
 * bench/results/<name>.json, and the tables and plot into docs/performance.md (bench/report.ts).
 *
 * Usage: node dist/bench/run.js [--quick] [--soak N] [--name NAME] [--only check,e2e,soak]
 *                               [--log-level info] [--no-docs] [--profile SECONDS]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startEnvoy } from '../test/support/envoy.js';
import { summariseProfile } from './cpuprofile-summary.js';
import { freePort, ghz, h2load, isBroken, LOAD_CPU, round, ROOT, sampleProc, SERVER_CPU, spawnPinned, waitFor, type LoadResult } from './lib.js';
import { renderAndWrite, type Results, type CheckRun, type E2eRun, type SoakRun } from './report.js';
import { PLUGIN_BIN, SCENARIOS, startIdp, startSystem, SYSTEMS, writeCheckRequest, type Idp, type RunningSystem, type ScenarioName, type SystemName } from './systems.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    soak: { type: 'string' },
    name: { type: 'string' },
    only: { type: 'string', default: 'check,e2e,soak' },
    'log-level': { type: 'string', default: 'info' },
    'no-docs': { type: 'boolean', default: false },
    profile: { type: 'string' },
  },
  strict: true,
});

const quick = args.quick;
const settings = {
  quick,
  warmup_s: quick ? 1 : 3,
  max_s: quick ? 3 : 10,
  rate_s: quick ? 2 : 10,
  e2e_s: quick ? 3 : 10,
  required_rates_up_to: 2000,
  rates: [500, 1000, 2000, 3000, 4000, 6000, 8000, 12000, 16000, 24000, 32000],
  e2e_rates: [500, 1000, 2000],
  soak_checks: Number(args.soak ?? (quick ? 20_000 : 1_000_000)),
  concurrency: 50,
  connections: 4,
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
  return `${rate}: ${r.achieved_rps} rps, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, p99.9 ${r.p999_ms} ms, errors ${r.errors}` +
    (r.cpu_ms_per_1k === undefined ? '' : `, cpu ${r.cpu_ms_per_1k} ms/1k`) + (r.rss_mb === undefined ? '' : `, rss ${r.rss_mb} MB`) + (r.broken === true ? ' [broken]' : '');
}

/** One ghz run with the server's CPU and memory sampled around it. */
async function measured(system: RunningSystem, run: () => Promise<LoadResult>): Promise<LoadResult> {
  const before = sampleProc(system.process.pid);
  const result = await run();
  const after = sampleProc(system.process.pid);
  const withProc = { ...result, cpu_ms_per_1k: round(((after.cpuMs - before.cpuMs) / Math.max(1, result.requests)) * 1000, 1), rss_mb: round(after.rssMb, 1) };
  return withProc.target_rps === undefined ? withProc : { ...withProc, broken: isBroken(withProc) };
}

async function checkLevel(idp: Idp): Promise<Record<ScenarioName, Record<SystemName, CheckRun>>> {
  const out = {} as Record<ScenarioName, Record<SystemName, CheckRun>>;
  for (const scenario of SCENARIOS) {
    out[scenario] = {} as Record<SystemName, CheckRun>;
    const dataFile = writeCheckRequest(scratch, scenario, idp.token);
    for (const systemName of SYSTEMS) {
      log(`check ${scenario} / ${systemName}: starting`);
      const system = await startSystem(systemName, scenario, { idp, dir: scratch, logLevel: settings.gatehouse_log_level });
      try {
        const rssIdle = round(sampleProc(system.process.pid).rssMb, 1);
        const base = { port: system.port, dataFile, concurrency: settings.concurrency, connections: settings.connections };
        await ghz({ ...base, seconds: settings.warmup_s });
        const max = await measured(system, () => ghz({ ...base, seconds: settings.max_s }));
        log(`  max ${fmt(max)}`);
        const rates: LoadResult[] = [];
        for (const rps of settings.rates) {
          const r = await measured(system, () => ghz({ ...base, rps, seconds: settings.rate_s }));
          log(`  ${fmt(r)}`);
          rates.push(r);
          // 500, 1,000 and 2,000 rps are always measured; beyond, stop at the first rate that breaks.
          if (r.broken === true && rps >= settings.required_rates_up_to) break;
        }
        out[scenario][systemName] = { rss_idle_mb: rssIdle, max, rates, rss_end_mb: round(sampleProc(system.process.pid).rssMb, 1) };
      } finally {
        await system.process.stop();
      }
    }
  }
  return out;
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
  const listeners = (config['static_resources'] as { listeners: { filter_chains: { filters: Filter[] }[] }[] }).listeners;
  for (const listener of listeners)
    for (const chain of listener.filter_chains)
      for (const filter of chain.filters) {
        const http = filter.typed_config?.http_filters;
        if (http !== undefined) filter.typed_config!.http_filters = http.filter((f) => f.name !== 'envoy.filters.http.ext_authz');
      }
}

async function endToEnd(idp: Idp): Promise<Record<SystemName | 'envoy', E2eRun>> {
  const out = {} as Record<SystemName | 'envoy', E2eRun>;
  const upstreamPort = await freePort();
  const upstream = spawnPinned(SERVER_CPU, process.execPath, [join(ROOT, 'dist', 'bench', 'upstream.js'), String(upstreamPort)]);
  const bin = pinnedEnvoyBin();
  const headers = [`authorization: Bearer ${idp.token}`, 'accept: application/json'];
  try {
    await waitFor('upstream', () => new Promise((resolve) => {
      const s = netConnect(upstreamPort, '127.0.0.1', () => (s.end(), resolve(true))).once('error', () => resolve(false));
    }));
    for (const which of ['envoy', ...SYSTEMS] as const) {
      log(`e2e ${which}: starting`);
      const authz = which === 'envoy' ? undefined : await startSystem(which, 'rbac', { idp, dir: scratch, logLevel: settings.gatehouse_log_level });
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
        if (ok.status !== 200) throw new Error(`e2e ${which}: GET with the token answered ${ok.status}`);
        if (which !== 'envoy') {
          const denied = await fetch(url, { headers: { accept: 'application/json' } });
          if (denied.status < 400) throw new Error(`e2e ${which}: GET without a token answered ${denied.status}`);
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
        out[which] = { rates };
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

async function soak(idp: Idp): Promise<SoakRun> {
  const checks = settings.soak_checks;
  log(`soak: ${checks} Checks through Gatehouse (rbac)`);
  const system = await startSystem('gatehouse', 'rbac', { idp, dir: scratch, logLevel: settings.gatehouse_log_level });
  const series: [number, number][] = [];
  const t0 = Date.now();
  const sampler = setInterval(() => {
    try {
      series.push([round((Date.now() - t0) / 1000, 1), round(sampleProc(system.process.pid).rssMb, 1)]);
    } catch {
      // the process is gone; the ghz run reports errors
    }
  }, 1000);
  try {
    const dataFile = writeCheckRequest(scratch, 'rbac', idp.token);
    const base = { port: system.port, dataFile, concurrency: settings.concurrency, connections: settings.connections };
    await ghz({ ...base, seconds: settings.warmup_s });
    const start = sampleProc(system.process.pid);
    const first = await ghz({ ...base, requests: Math.ceil(checks / 2) });
    const middle = sampleProc(system.process.pid);
    log(`  first half: ${fmt(first)}, rss ${round(middle.rssMb, 1)} MB`);
    const second = await ghz({ ...base, requests: Math.floor(checks / 2) });
    const end = sampleProc(system.process.pid);
    log(`  second half: ${fmt(second)}, rss ${round(end.rssMb, 1)} MB`);
    const requests = first.requests + second.requests;
    return {
      checks: requests,
      errors: first.errors + second.errors,
      duration_s: round((Date.now() - t0) / 1000, 1),
      achieved_rps: Math.round((first.achieved_rps * first.requests + second.achieved_rps * second.requests) / Math.max(1, requests)),
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

/** Gatehouse under the rbac scenario with `node --cpu-prof`, closed loop for `seconds`. */
async function profile(idp: Idp, seconds: number): Promise<void> {
  const dir = join(resultsDir, 'profile');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const system = await startSystem('gatehouse', 'rbac', { idp, dir: scratch, logLevel: settings.gatehouse_log_level, nodeFlags: ['--cpu-prof', '--cpu-prof-dir', dir] });
  const dataFile = writeCheckRequest(scratch, 'rbac', idp.token);
  try {
    const r = await ghz({ port: system.port, dataFile, seconds, concurrency: settings.concurrency, connections: settings.connections });
    log(`profile load: ${fmt(r)}`);
  } finally {
    await system.process.stop(15_000);
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`no .cpuprofile written in ${dir}`);
  const summary = summariseProfile(JSON.parse(readFileSync(join(dir, file), 'utf8')), { top: 30 });
  writeFileSync(join(resultsDir, 'profile-rbac.txt'), summary);
  process.stdout.write(summary);
  log(`profile: ${join(dir, file)} (open in Chrome DevTools), summary in bench/results/profile-rbac.txt`);
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
    commit: git(['rev-parse', '--short', 'HEAD']) + (git(['status', '--porcelain', '--', 'src']) === '' ? '' : ' (modified)'),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    loadavg_at_start: loadavg().map((x) => round(x, 2)),
    versions: {
      gatehouse: (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
      node: process.version,
      opa_envoy_plugin: version(PLUGIN_BIN, ['version'], /Version:\s*(\S+)/),
      envoy: version(join(ROOT, '.tools', 'bin', 'envoy'), ['--version'], /\/(\d+\.\d+\.\d+)\//),
      // go-installed ghz says `dev`; the module version is in the binary's build info.
      ghz: version('go', ['version', '-m', join(ROOT, '.tools', 'bin', 'ghz')], /mod\s+github\.com\/bojand\/ghz\s+v(\S+)/),
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
    const results: Results = { meta: meta() };
    if (stages.has('check')) results.check = await checkLevel(idp);
    if (stages.has('e2e')) results.e2e = await endToEnd(idp);
    if (stages.has('soak')) results.soak = await soak(idp);
    const file = join(resultsDir, `${name}.json`);
    writeFileSync(file, `${JSON.stringify(results, null, 1)}\n`);
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

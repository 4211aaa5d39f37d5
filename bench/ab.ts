/**
 * A/B of two Gatehouse builds on the traffic stage's production-shaped Checks (bench/traffic.ts),
 * pinned as the benchmark pins them (load generator on CPU 0, Gatehouse on CPU 1), the builds
 * alternated round by round so that the machine's drift falls on both alike.
 *
 *   npm run build   # in both checkouts
 *   node dist/bench/ab.js --a /path/to/checkout-a --b /path/to/checkout-b [--alg RS256] [--tokens 10000]
 *     [--rounds 3] [--seconds 10] [--rates 500,1000] [--rate-seconds 15] [--node-flags-b "--flag …"]
 *
 * Each checkout runs its own `dist/` (its bench modules start its own Gatehouse, with its own V8
 * flags); the identity provider, the tokens and the request frames are this checkout's, shared by
 * both. Per round and build: one warm pass over every token, a closed loop (max Checks/s, server
 * CPU ms per 1,000 Checks), then each fixed rate (p99 / p99.9), then VmHWM. Any answer that is not
 * an allow is an error and stops the run. Prints every round and the medians.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type * as Lib from './lib.js';
import type * as Systems from './systems.js';
import { startIdp } from './systems.js';
import { mintTokens, type TokenAlg, writeTrafficFrames } from './traffic.js';

const { values: args } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    alg: { type: 'string', default: 'RS256' },
    tokens: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    rates: { type: 'string', default: '' },
    'rate-seconds': { type: 'string', default: '15' },
    'node-flags-a': { type: 'string', default: '' },
    'node-flags-b': { type: 'string', default: '' },
    'log-level': { type: 'string', default: 'info' },
  },
});
if (args.a === undefined || args.b === undefined) {
  process.stderr.write('usage: node dist/bench/ab.js --a CHECKOUT --b CHECKOUT [options]\n');
  process.exit(2);
}
const alg = args.alg as TokenAlg;
if (alg !== 'RS256' && alg !== 'ES256') throw new Error(`--alg: RS256 or ES256, not ${alg}`);
const tokenCount = Number(args.tokens);
const rounds = Number(args.rounds);
const seconds = Number(args.seconds);
const rateSeconds = Number(args['rate-seconds']);
const rates = args.rates === '' ? [] : args.rates.split(',').map(Number);

interface Build {
  readonly label: 'A' | 'B';
  readonly root: string;
  readonly nodeFlags: readonly string[];
  readonly lib: typeof Lib;
  readonly systems: typeof Systems;
}

async function build(label: 'A' | 'B', checkout: string, flags: string): Promise<Build> {
  const root = resolve(checkout);
  const load = (name: string) => import(pathToFileURL(join(root, 'dist', 'bench', name)).href);
  return {
    label,
    root,
    nodeFlags: flags.split(' ').filter((f) => f !== ''),
    lib: (await load('lib.js')) as typeof Lib,
    systems: (await load('systems.js')) as typeof Systems,
  };
}

interface Round {
  readonly max: number;
  readonly cpuPer1k: number;
  /** Of which the kernel's (system time). */
  readonly systemPer1k: number;
  readonly rates: { readonly rps: number; readonly p99: number; readonly p999: number }[];
  readonly hwmMb: number;
}

/** User and system CPU time of a process so far, in ms (/proc/<pid>/stat, 100 ticks a second). */
function cpuTimes(pid: number): { readonly user: number; readonly system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) * 10, system: Number(fields[12]) * 10 };
}

function hwmMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

async function measure(b: Build, idp: Systems.Idp, framesFile: string, dir: string) {
  const system = await b.systems.startSystem('gatehouse', 'rbac', {
    idp,
    // Each build's bench modules number their folders from 1: one scratch folder per build.
    dir: join(dir, b.label),
    logLevel: args['log-level'],
    nodeFlags: b.nodeFlags,
  });
  try {
    const base = { port: system.port, framesFile, concurrency: 50, connections: 4 };
    const checked = (r: Lib.LoadResult): Lib.LoadResult => {
      if (r.errors > 0) throw new Error(`${b.label}: errors ${JSON.stringify(r.error_kinds)}`);
      return r;
    };
    checked(await b.lib.loadgen({ ...base, requests: tokenCount }));
    const before = cpuTimes(system.process.pid);
    const max = checked(await b.lib.loadgen({ ...base, seconds }));
    const after = cpuTimes(system.process.pid);
    const per1k = (ms: number): number => (ms / Math.max(1, max.requests)) * 1000;
    const out: Round = {
      max: max.achieved_rps,
      cpuPer1k: per1k(after.user - before.user + after.system - before.system),
      systemPer1k: per1k(after.system - before.system),
      rates: [],
      hwmMb: 0,
    };
    for (const rps of rates) {
      const r = checked(await b.lib.loadgen({ ...base, rps, seconds: rateSeconds }));
      out.rates.push({ rps, p99: r.p99_ms, p999: r.p999_ms });
    }
    return { ...out, hwmMb: hwmMb(system.process.pid) };
  } finally {
    await system.process.stop();
  }
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1
    ? (s[mid] as number)
    : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const f1 = (x: number): string => x.toFixed(1);

const builds = [
  await build('A', args.a, args['node-flags-a']),
  await build('B', args.b, args['node-flags-b']),
];
const idp = await startIdp();
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ab-'));
try {
  const framesFile = writeTrafficFrames(
    dir,
    `${alg}-${tokenCount}`,
    mintTokens(idp, alg, tokenCount),
  );
  const results = new Map<string, Round[]>(builds.map((b) => [b.label, []]));
  for (let i = 1; i <= rounds; i++) {
    // Alternate which build goes first, so neither always follows the other.
    for (const b of i % 2 === 1 ? builds : [...builds].reverse()) {
      const r = await measure(b, idp, framesFile, dir);
      results.get(b.label)?.push(r);
      const rateText = r.rates.map((x) => ` · ${x.rps}/s p99 ${f1(x.p99)} p99.9 ${f1(x.p999)} ms`);
      console.log(
        `round ${i} ${b.label}: max ${Math.round(r.max)} Checks/s, ${f1(r.cpuPer1k)} CPU ms/1k (system ${f1(r.systemPer1k)})${rateText.join('')}, VmHWM ${f1(r.hwmMb)} MB`,
      );
    }
  }
  for (const b of builds) {
    const rs = results.get(b.label) ?? [];
    const rateText = rates.map((rps, k) => {
      const at = rs.map((r) => r.rates[k]);
      return ` · ${rps}/s p99 ${f1(median(at.map((x) => x?.p99 ?? Number.NaN)))} p99.9 ${f1(median(at.map((x) => x?.p999 ?? Number.NaN)))} ms`;
    });
    console.log(
      `median ${b.label} (${b.root}): max ${Math.round(median(rs.map((r) => r.max)))} Checks/s, ${f1(median(rs.map((r) => r.cpuPer1k)))} CPU ms/1k (system ${f1(median(rs.map((r) => r.systemPer1k)))})${rateText.join('')}, VmHWM ${f1(median(rs.map((r) => r.hwmMb)))} MB`,
    );
  }
} finally {
  await idp.close();
  rmSync(dir, { recursive: true, force: true });
}
